//! Randomized whole-system histories: a seeded stream of ordinary events
//! (edits, visits, syncs, cut syncs, restarts, restores, copied and cloned
//! laptops) run against the real code of laptop, server and backup node,
//! then every laptop syncs until quiet and the invariants of [`check`] are
//! checked. A failing history is shrunk to a short list of events that
//! still fails, and printed with its seed.

mod check;
mod event;
mod world;

pub use event::{history, Event};
pub use world::Broken;

/// Runs `events` from a fresh world and checks the invariants.
pub fn run(events: &[Event]) -> Result<world::Ledger, Broken> {
    run_told(events, &mut |_| {})
}

/// [`run`], telling `told` what each event did, by name.
fn run_told(events: &[Event], told: &mut dyn FnMut(String)) -> Result<world::Ledger, Broken> {
    let mut world = world::World::new()?;
    for (n, event) in events.iter().enumerate() {
        let did = world
            .apply(*event)
            .map_err(|b| Broken(format!("at event {n} ({event}): {}", b.0)))?;
        told(did);
    }
    check::settle_and_check(&mut world)?;
    Ok(world.ledger)
}

/// What each event of `events` did, by name, and how the run ended.
pub fn describe(events: &[Event]) -> (Vec<String>, Result<(), Broken>) {
    let mut said = Vec::new();
    let end = run_told(events, &mut |s| said.push(s)).map(|_| ());
    (said, end)
}

/// A failing history cut down to a sub-list that still fails: whole
/// chunks are dropped while it keeps failing, then single events. `None`
/// when the whole history does not fail again (what broke depended on
/// timing, not on the events alone).
pub fn shrink(events: &[Event]) -> (Vec<Event>, Option<Broken>) {
    let mut current = events.to_vec();
    let mut why = match run(&current) {
        Err(b) => b,
        Ok(_) => return (current, None),
    };
    let mut chunk = current.len() / 2;
    while chunk >= 1 {
        let mut start = 0;
        while start < current.len() {
            let mut candidate = current.clone();
            candidate.drain(start..(start + chunk).min(current.len()));
            match run(&candidate) {
                Err(b) => {
                    current = candidate;
                    why = b;
                }
                Ok(_) => start += chunk,
            }
        }
        chunk /= 2;
    }
    (current, Some(why))
}

/// Runs the history of `seed`; on failure, shrinks it and returns a report
/// naming the seed, what broke and the events that make it break.
pub fn check_seed(seed: u64, len: usize) -> Result<(), String> {
    let events = history(seed, len);
    let first = match run(&events) {
        Ok(_) => return Ok(()),
        Err(b) => b,
    };
    let (small, why) = shrink(&events);
    let why = match why {
        Some(b) => b.0,
        None => format!("{} — once: run again, it did not fail", first.0),
    };
    let (said, _) = describe(&small);
    let mut out = format!(
        "seed {seed} ({len} events) broke: {why}\nshrunk to {} events (as drawn | what happened):\n",
        small.len()
    );
    for (n, e) in small.iter().enumerate() {
        let did = said.get(n).map_or("(not reached)", |s| s.as_str());
        out.push_str(&format!("  {n:>3}. {e:?}\n       | {did}\n"));
    }
    Err(out)
}

/// Checks the histories of `seeds` on `threads` threads (every core when
/// `None`); returns how many ran and the reports of those that broke, in
/// seed order. `stop` is asked between histories with how many have run
/// and broken so far (an exploratory run's clock and progress), and
/// `broke` is told each report as it is found, so a long run that is cut
/// short has already shown what it found.
pub fn check_seeds(
    seeds: impl Iterator<Item = u64> + Send,
    len: usize,
    threads: Option<usize>,
    stop: &(dyn Fn(usize, usize) -> bool + Sync),
    broke: &(dyn Fn(&str) + Sync),
) -> (usize, Vec<(u64, String)>) {
    let seeds = std::sync::Mutex::new(seeds);
    let found = std::sync::Mutex::new(Vec::new());
    let ran = std::sync::atomic::AtomicUsize::new(0);
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let so_far = found.lock().expect("not poisoned").len();
                if stop(ran.load(std::sync::atomic::Ordering::Relaxed), so_far) {
                    return;
                }
                let Some(seed) = seeds.lock().expect("not poisoned").next() else {
                    return;
                };
                if let Err(report) = check_seed(seed, len) {
                    broke(&report);
                    found.lock().expect("not poisoned").push((seed, report));
                }
                ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    let mut found = found.into_inner().expect("not poisoned");
    found.sort();
    (ran.into_inner(), found)
}
