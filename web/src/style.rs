//! The one stylesheet of both programs. Served as a file by each (a CSP of
//! `style-src 'self'` forbids inline styles), cached for an hour.

/// The stylesheet. System fonts only: neither program may fetch anything
/// from the internet.
pub const CSS: &str = r#"
*{box-sizing:border-box}
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:0;color:#1d2733;background:#f4f6f8;font-size:14px}
header{background:#1f4e79;color:#fff;display:flex;align-items:center;gap:1rem;padding:.5rem 1rem;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;padding:.25rem .4rem;border-radius:3px}
header a.on,header a:hover{background:#2f6ea5}
header nav{display:flex;flex-wrap:wrap;gap:.2rem}
header .who{margin-left:auto;display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}
header form{display:inline}
header button{background:none;border:1px solid #fff;color:#fff;padding:.2rem .6rem;cursor:pointer}
main{padding:1rem 1.5rem;max-width:1400px}
h1{font-size:1.3rem;margin:.4rem 0 1rem}
h2{font-size:1.1rem;margin:1.4rem 0 .6rem}
table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:1rem}
th,td{border:1px solid #d5dbe1;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#e9eef3;font-weight:600}
th a{color:inherit}
td.num{text-align:right;font-variant-numeric:tabular-nums}
form.inline{display:inline}
.filters{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end;margin-bottom:1rem}
label{display:flex;flex-direction:column;gap:.2rem;font-size:.85rem}
input,select,textarea{font:inherit;padding:.3rem .4rem;border:1px solid #b8c2cc;border-radius:3px}
textarea{min-height:4.5rem}
button,.button{font:inherit;padding:.35rem .9rem;background:#1f4e79;color:#fff;border:0;border-radius:3px;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#6c7a89}
button.danger{background:#a33}
.error{background:#fde8e8;border:1px solid #e0a0a0;color:#7a1f1f;padding:.6rem .8rem;margin:.6rem 0}
.field-error{color:#a33;font-size:.85rem}
.ok{background:#e6f4ea;border:1px solid #9fd3ad;padding:.6rem .8rem;margin:.6rem 0}
.muted{color:#6c7a89}
.card{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:.3rem 1.2rem;background:#fff;padding:.8rem;border:1px solid #d5dbe1}
.card div span{color:#6c7a89;margin-right:.4rem}
.pager{display:flex;gap:1rem;margin:.5rem 0}
form.login{max-width:420px;margin:6vh auto;background:#fff;padding:1.5rem;border:1px solid #d5dbe1;display:flex;flex-direction:column;gap:.8rem}
form.login h1{font-size:1.1rem}
form.stack{display:flex;flex-direction:column;gap:.6rem;max-width:640px;background:#fff;padding:1rem;border:1px solid #d5dbe1}
form.stack .row{display:flex;gap:.8rem;flex-wrap:wrap}
form.stack.wide{max-width:none}
form.stack .fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:.5rem 1rem}
.tag{display:inline-block;padding:0 .4rem;border-radius:3px;background:#e9eef3}
.tag.bad{background:#fde8e8}
.tag.good{background:#e6f4ea}
.actions{display:flex;gap:.5rem;flex-wrap:wrap;margin:.6rem 0}
.story .details{margin:.2rem 0 0 1rem;color:#3a4754}
.fingerprint{font-family:monospace;word-break:break-all;background:#f4f6f8;padding:.4rem}
.status{display:flex;gap:.8rem;align-items:center;background:#e9eef3;padding:.3rem 1rem;font-size:.9rem;flex-wrap:wrap}
.status .online{color:#1e6b34;font-weight:600}
.status .offline{color:#8a5a00;font-weight:600}
.status form{display:inline;margin-left:auto}
fieldset.bulk{display:flex;gap:.6rem;flex-wrap:wrap;align-items:end;border:1px solid #d5dbe1;background:#fff;margin:0 0 .6rem;padding:.5rem .8rem}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
ul.tiles{list-style:none;padding:0;margin:0 0 1rem;display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.6rem}
ul.tiles a{display:block;height:100%;padding:.7rem .9rem;background:#fff;border:1px solid #d5dbe1;border-radius:4px;color:inherit;text-decoration:none}
ul.tiles a:hover{border-color:#1f4e79}
ul.tiles b{display:block;font-size:1.6rem;color:#1f4e79;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,24rem),1fr));gap:1rem}
figure.chart{margin:0;background:#fff;border:1px solid #d5dbe1;padding:.7rem}
figure.chart figcaption{font-weight:600;margin-bottom:.4rem}
figure.chart svg{width:100%;height:auto;font-size:13px;fill:#1d2733}
figure.chart rect{fill:#2f6ea5}
figure.chart a:hover rect{fill:#1f4e79}
@media print{header,.status,.actions,form:not(#bulk),fieldset.bulk,td input[type=checkbox]{display:none}main{padding:0}}
input,select,textarea{max-width:100%}
@media (max-width:600px){main{padding:.6rem}header{gap:.4rem}table{font-size:.85rem}th,td{padding:.25rem .3rem}.hide-narrow{display:none}
table{display:block;overflow-x:auto}
table.cards{display:block;overflow:visible;background:none;font-size:inherit}
table.cards thead{display:none}
table.cards tbody,table.cards tr{display:block}
table.cards tr{background:#fff;border:1px solid #d5dbe1;margin-bottom:.5rem;padding:.4rem .6rem}
table.cards td{display:flex;gap:.6rem;border:0;padding:.1rem 0;text-align:left}
table.cards td:empty{display:none}
table.cards td.title{font-weight:600;font-size:1.05rem}
table.cards td[data-label]::before{content:attr(data-label);color:#6c7a89;min-width:5.5rem;flex:none}
.card{grid-template-columns:1fr}}
"#;
