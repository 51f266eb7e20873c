//! A built-in generator with the shape of `shared/bench/gen_customers.py`
//! (same fields, same Chinese vocabulary, deterministic), so benchmarks need
//! no Python and can give each salesperson distinct customers.

use std::io::Write;

const WORDS: &str = "客户反馈良好下次跟进新品价格偏高需要申请折扣库存充足竞争对手促销回款及时老板出差采购经理变更订单增加质量投诉已处理样品试用满意计划下月拜访展会邀请签订合同";
const REGIONS: [&str; 4] = ["华东", "华南", "华北", "西南"];

/// A small deterministic PRNG (xorshift): reproducible data, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn text(rng: &mut Rng, words: &[char], k: usize) -> String {
    (0..k)
        .map(|_| words[rng.below(words.len() as u64) as usize])
        .collect()
}

/// Writes `customers` lines with `visits` visits each; ids are `{prefix}{i:06}`.
pub fn write(
    out: &mut impl Write,
    prefix: &str,
    customers: usize,
    visits: usize,
    seed: u64,
) -> std::io::Result<()> {
    write_assigned(out, prefix, customers, visits, seed, None)
}

/// As [`write`]; with `spread = Some((first, n))` customer `i` is assigned
/// to salesperson `s{first + i / n:03}` (n customers each).
pub fn write_assigned(
    out: &mut impl Write,
    prefix: &str,
    customers: usize,
    visits: usize,
    seed: u64,
    spread: Option<(usize, usize)>,
) -> std::io::Result<()> {
    let words: Vec<char> = WORDS.chars().collect();
    let mut rng = Rng::new(seed);
    for i in 0..customers {
        let name = format!("{}有限公司{prefix}{i}", text(&mut rng, &words, 4));
        let grade = ["A", "B", "C", "D", "E"][rng.below(5) as usize];
        let credit = rng.below(1_000_000);
        let contacts: Vec<_> = (0..2)
            .map(|_| {
                serde_json::json!({
                    "name": text(&mut rng, &words, 3),
                    "title": text(&mut rng, &words, 4),
                    "mobile": format!("138{:08}", rng.below(100_000_000)),
                })
            })
            .collect();
        let visits: Vec<_> = (0..visits)
            .map(|k| {
                let mut v = serde_json::json!({
                    "id": format!("v{prefix}{i}-{k}"),
                    "at": 1_700_000_000_000i64 + k as i64 * 86_400_000,
                    "kind": "visit",
                    "notes": text(&mut rng, &words, 40),
                });
                // The latest visit plans a follow-up somewhere in 2026-2027,
                // so that the follow-up report has days past and to come.
                if k + 1 == visits {
                    let first: crm_shared::day::Day = "2026-01-01".parse().expect("a day");
                    let day = first.plus_days(rng.below(730) as i64);
                    v["next_followup"] = day.to_string().into();
                }
                v
            })
            .collect();
        let mut line = serde_json::json!({
            "id": format!("{prefix}{i:06}"),
            "name": name,
            "grade": grade,
            "status": "active",
            "region": REGIONS[i % 4],
            "credit_limit": credit,
            "contacts": contacts,
            "visits": visits,
        });
        if let Some((first, n)) = spread {
            line["salesperson"] = serde_json::json!(format!("s{:03}", first + i / n));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}
