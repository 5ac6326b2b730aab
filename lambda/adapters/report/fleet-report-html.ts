/**
 * The fleet report as one self-contained HTML page: inline CSS and JavaScript, no fonts, images or
 * scripts from anywhere, so it opens from a file, an e-mail attachment or an S3 object with no
 * network. Tables are rendered on the server (readable without JavaScript); the script adds sorting
 * and filtering. Every string from the state store is escaped.
 */
import type {
  AnnouncementView,
  CalendarEntry,
  ExpiryState,
  FleetReport,
  FleetRow,
} from '../../domain/fleet-report';
import { shortFingerprint } from '../../domain/certificate';

/** Short fingerprint for display ('-' when unknown). */
function shortOf(fingerprint: string | undefined): string {
  return fingerprint ? shortFingerprint(fingerprint) : '-';
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const DAY = 86_400_000;
const STATE_ORDER: readonly ExpiryState[] = [
  'expired',
  'critical',
  'warning',
  'ok',
  'unreachable',
  'not issued',
];

function stateBadge(state: string): string {
  return `<span class="badge s-${esc(state.replace(/\s+/g, '-'))}">${esc(state)}</span>`;
}

function day(iso: string | undefined): string {
  return iso ? iso.slice(0, 10) : '-';
}

function fleetTable(rows: readonly FleetRow[]): string {
  const head = ['Environment', 'Where', 'Certificate', 'Fingerprint', 'Expires', 'Days left', 'State'];
  const types = ['text', 'text', 'text', 'text', 'text', 'number', 'state'];
  const body = rows
    .map((r) => {
      const search = [r.environment, r.where, r.certificate, r.subject, r.fingerprint, r.state, r.detail]
        .filter(Boolean)
        .join(' ')
        .toLowerCase();
      return `<tr class="row" data-environment="${esc(r.environment)}" data-state="${esc(r.state)}" data-search="${esc(search)}">
<td>${esc(r.environment)}</td><td class="where" title="${esc(r.detail ?? r.where)}">${esc(r.where)}</td>
<td title="${esc(r.subject ?? '')}">${esc(r.certificate)}</td><td class="mono" title="${esc(r.fingerprint ?? '')}">${esc(shortOf(r.fingerprint))}</td>
<td data-sort="${esc(r.notAfter ?? '')}">${esc(day(r.notAfter))}</td><td class="num" data-sort="${r.daysLeft ?? ''}">${r.daysLeft ?? '-'}</td>
<td data-sort="${STATE_ORDER.indexOf(r.state)}">${stateBadge(r.state)}${r.detail ? ` <span class="detail">${esc(r.detail)}</span>` : ''}</td></tr>`;
    })
    .join('\n');
  return `<table id="fleet" class="data"><thead><tr>${head
    .map((h, i) => `<th data-type="${types[i]}" tabindex="0" aria-sort="none">${esc(h)}</th>`)
    .join('')}</tr></thead><tbody>
${body}
</tbody></table>
<p id="fleet-empty" class="empty" hidden>No certificate matches the filter.</p>`;
}

/** Lanes per environment, markers placed by days left; past expiries pile up at the left edge. */
function timeline(report: FleetReport): string {
  const from = -14;
  const to = report.horizonDays;
  const span = to - from;
  const pos = (days: number) => Math.min(100, Math.max(0, ((days - from) / span) * 100));
  const ticks = [0, 30, 60, 90, 120, 180, 365]
    .filter((d) => d <= to)
    .map(
      (d) => `<span class="tick" style="left:${pos(d).toFixed(2)}%">${d === 0 ? 'today' : `+${d}d`}</span>`,
    )
    .join('');
  const lanes = report.environments
    .map((environment) => {
      const entries = report.calendar.filter((c) => c.environment === environment);
      const markers = entries
        .map(
          (c) =>
            `<span class="marker s-${esc(c.state)}" data-environment="${esc(c.environment)}" data-search="${esc(
              `${c.environment} ${c.certificate} ${c.where} ${c.state}`.toLowerCase(),
            )}" style="left:${pos(c.daysLeft).toFixed(2)}%" title="${esc(
              `${c.certificate} at ${c.where}: ${c.date} (${c.daysLeft} days)`,
            )}"></span>`,
        )
        .join('');
      return `<div class="lane" data-environment="${esc(environment)}"><span class="lane-name">${esc(environment)}</span><div class="track">${markers}</div></div>`;
    })
    .join('\n');
  return `<div class="timeline"><div class="axis">${ticks}</div>${lanes}<div class="now" style="left:calc(9rem + (100% - 9rem) * ${(pos(0) / 100).toFixed(4)})"></div></div>`;
}

/** Months from the earliest to the latest expiry in the horizon, each with its days' entries. */
function calendar(entries: readonly CalendarEntry[]): string {
  if (entries.length === 0) return '<p class="empty">Nothing expires within the horizon.</p>';
  const months = new Map<string, CalendarEntry[]>();
  for (const entry of [...entries].sort((a, b) => a.date.localeCompare(b.date))) {
    const key = entry.date.slice(0, 7);
    months.set(key, [...(months.get(key) ?? []), entry]);
  }
  const monthName = (key: string) =>
    new Date(`${key}-01T00:00:00Z`).toLocaleString('en', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  return `<div id="calendar" class="calendar">${[...months.entries()]
    .map(
      ([key, list]) =>
        `<section class="month" data-month="${esc(key)}"><h3>${esc(monthName(key))}</h3><ol>${list
          .map(
            (c) =>
              `<li class="cal-entry s-${esc(c.state)}" data-date="${esc(c.date)}" data-environment="${esc(
                c.environment,
              )}" data-certificate="${esc(c.certificate)}" data-search="${esc(
                `${c.environment} ${c.certificate} ${c.where} ${c.state}`.toLowerCase(),
              )}"><time datetime="${esc(c.date)}">${esc(c.date.slice(8, 10))}</time> <b>${esc(c.certificate)}</b> <span class="env">${esc(
                c.environment,
              )}</span> <span class="where">${esc(c.where)}</span> ${stateBadge(c.state)}</li>`,
          )
          .join('')}</ol></section>`,
    )
    .join('')}</div>`;
}

function windowBar(a: AnnouncementView, now: Date): string {
  if (!a.windowStart || !a.cutover || !a.deadline) return '';
  const start = Date.parse(a.windowStart);
  const cutover = Date.parse(a.cutover);
  const lo = Math.min(start, now.getTime()) - DAY;
  const hi = Math.max(cutover, now.getTime()) + DAY;
  const pos = (t: number) => (((t - lo) / (hi - lo)) * 100).toFixed(2);
  return `<div class="window" aria-hidden="true">
<span class="open" style="left:${pos(start)}%;width:${(Number(pos(cutover)) - Number(pos(start))).toFixed(2)}%"></span>
<span class="pin deadline" style="left:${pos(Date.parse(a.deadline))}%" title="deadline ${esc(a.deadline)}"></span>
<span class="pin today" style="left:${pos(now.getTime())}%" title="now"></span></div>
<p class="dates">window opens ${esc(day(a.windowStart))} · deadline ${esc(day(a.deadline))} · cutover ${esc(day(a.cutover))}${
    a.daysLeft !== undefined
      ? ` · <b>${a.daysLeft < 0 ? `${-a.daysLeft} days overdue` : `${a.daysLeft} days to the deadline`}</b>`
      : ''
  }</p>`;
}

function upstreams(report: FleetReport, now: Date): string {
  if (report.upstreams.length === 0) return '<p class="empty">No upstreams configured.</p>';
  return report.upstreams
    .map(
      (u) =>
        `<article class="upstream" data-upstream="${esc(u.upstream)}"><h3>${esc(u.upstream)}</h3>${
          u.announcements.length === 0
            ? `<p class="empty">No announced rotation. Consumers: ${esc(u.consumers.join(', ') || 'none configured')}.</p>`
            : u.announcements
                .map(
                  (a) =>
                    `<div class="announcement"><h4>${esc(a.title)} ${stateBadge(a.stage)}</h4>${windowBar(a, now)}${
                      a.note ? `<p class="note">${esc(a.note)}</p>` : ''
                    }<table class="data small"><thead><tr><th>Consumer</th><th>Ready</th><th>Detail</th></tr></thead><tbody>${a.consumers
                      .map(
                        (c) =>
                          `<tr><td>${esc(c.consumer)}</td><td>${stateBadge(c.ready ? 'ready' : 'not ready')}</td><td>${esc(c.detail ?? '')}</td></tr>`,
                      )
                      .join('')}</tbody></table></div>`,
                )
                .join('')
        }</article>`,
    )
    .join('\n');
}

/** A fingerprint cell: the version when known, the short fingerprint always (full one on hover). */
function versionCell(fingerprint: string | undefined, version: string | undefined, differs: boolean): string {
  return `<td class="mono${differs ? ' differs' : ''}" title="${esc(fingerprint ?? '')}">${
    version ? `${esc(version)}<br>` : ''
  }${esc(shortOf(fingerprint))}</td>`;
}

function hostsTable(report: FleetReport): string {
  if (report.hosts.length === 0) return '<p class="empty">No agent-managed hosts have reported.</p>';
  return `<table id="hosts" class="data"><thead><tr><th>Host</th><th>Environment</th><th>Certificate</th><th>Current</th><th>Installed</th><th>Served</th><th>Last report</th><th>State</th></tr></thead><tbody>${report.hosts
    .map(
      (h) =>
        `<tr class="row" data-environment="${esc(h.environment)}" data-search="${esc(
          `${h.host} ${h.environment} ${h.certificate} ${h.state}`.toLowerCase(),
        )}"><td>${esc(h.host)}</td><td>${esc(h.environment)}</td><td>${esc(h.certificate)}</td>${versionCell(
          h.expectedFingerprint,
          h.expectedVersion,
          false,
        )}${versionCell(
          h.installedFingerprint,
          h.installedVersion,
          h.installedFingerprint !== undefined && h.installedFingerprint !== h.expectedFingerprint,
        )}${versionCell(
          h.servedFingerprint,
          h.servedVersion,
          h.servedFingerprint !== undefined && h.servedFingerprint !== h.installedFingerprint,
        )}<td>${esc(h.reportAt ?? '-')}</td><td>${stateBadge(h.state)}${
          h.reason ? ` <span class="detail">${esc(h.reason)}</span>` : ''
        }</td></tr>`,
    )
    .join('')}</tbody></table>`;
}

function rotationsTable(report: FleetReport): string {
  if (report.rotations.length === 0) return '<p class="empty">No rotations recorded yet.</p>';
  return `<table id="rotations" class="data"><thead><tr><th>When</th><th>Certificate</th><th>Version</th><th>Outcome</th><th>Reason</th></tr></thead><tbody>${report.rotations
    .map(
      (r) =>
        `<tr><td>${esc(r.at)}</td><td>${esc(r.certificate)}</td><td class="mono">${esc(r.version)}</td><td>${stateBadge(
          r.status,
        )}</td><td>${esc(r.reason ?? '')}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}

const CSS = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#1c2430;--muted:#637083;--line:#e1e5ea;--expired:#7a1020;--critical:#c81e3a;--warning:#b86e00;--ok:#1d7a46;--unreachable:#6b3fa0;--none:#8893a2}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{background:#18202b;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#b8c2cf}
main{padding:18px 28px;max-width:1500px;margin:auto}section.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 18px}
h2{font-size:16px;margin:0 0 10px}h3{font-size:14px;margin:10px 0 6px}h4{font-size:13px;margin:8px 0}
.summary{display:flex;gap:10px;flex-wrap:wrap;margin-top:10px}.summary span{background:#273142;border-radius:6px;padding:4px 10px}
.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:center;position:sticky;top:0;background:var(--bg);padding:8px 0;z-index:2}
.filters input,.filters select{font:inherit;padding:6px 8px;border:1px solid var(--line);border-radius:6px;background:#fff}.filters input{min-width:280px}
table.data{border-collapse:collapse;width:100%}table.data th,table.data td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
table.data th{cursor:pointer;user-select:none;color:var(--muted);font-weight:600;white-space:nowrap}table.data th[aria-sort=ascending]::after{content:" ▲"}table.data th[aria-sort=descending]::after{content:" ▼"}
table.small th{cursor:default}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}.num{text-align:right}.where{max-width:360px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.differs{color:var(--critical);font-weight:600}.detail,.note,.empty,.dates{color:var(--muted)}.detail{font-size:12px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;color:#fff;background:var(--none);white-space:nowrap}
.s-expired{background:var(--expired)}.s-critical,.s-overdue,.s-failed,.s-not-ready,.s-drift,.s-rolled-back{background:var(--critical)}
.s-warning,.s-deadline-approaching,.s-stale-report,.s-needs-review{background:var(--warning)}.s-ok,.s-ready,.s-succeeded,.s-completed{background:var(--ok)}
.s-unreachable,.s-no-report{background:var(--unreachable)}.s-window-open,.s-announced{background:#2c6cb0}
.timeline{position:relative;padding-top:22px}.axis{position:relative;height:18px;margin-left:9rem;border-bottom:1px solid var(--line)}
.tick{position:absolute;transform:translateX(-50%);font-size:11px;color:var(--muted)}.lane{display:flex;align-items:center;height:30px;border-bottom:1px dashed var(--line)}
.lane-name{width:9rem;flex:none;font-weight:600;overflow:hidden;text-overflow:ellipsis}.track{position:relative;flex:1;height:100%}
.marker{position:absolute;top:8px;width:14px;height:14px;border-radius:50%;transform:translateX(-50%);border:2px solid #fff;box-shadow:0 0 0 1px rgba(0,0,0,.2)}
.now{position:absolute;top:18px;bottom:0;width:2px;background:var(--ink);opacity:.5}
.calendar{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}.month{border:1px solid var(--line);border-radius:6px;padding:6px 10px}
.month ol{list-style:none;margin:0;padding:0}.cal-entry{padding:3px 0 3px 8px;border-left:4px solid var(--none);margin:3px 0;background:none}
.cal-entry.s-expired{border-color:var(--expired)}.cal-entry.s-critical{border-color:var(--critical)}.cal-entry.s-warning{border-color:var(--warning)}.cal-entry.s-ok{border-color:var(--ok)}
.cal-entry time{font-weight:700;display:inline-block;width:1.6em}.cal-entry .env,.cal-entry .where{color:var(--muted);font-size:12px}
.upstream{border-top:1px solid var(--line);padding-top:6px}.window{position:relative;height:16px;background:#eef1f5;border-radius:8px;margin:6px 0}
.window .open{position:absolute;top:0;bottom:0;background:#9cc3ec;border-radius:8px}.window .pin{position:absolute;top:-3px;bottom:-3px;width:3px}
.window .deadline{background:var(--critical)}.window .today{background:var(--ink)}[hidden]{display:none!important}
`;

const SCRIPT = `
(function(){
  var text=document.getElementById('filter'),env=document.getElementById('env-filter'),state=document.getElementById('state-filter');
  function matches(el){
    var q=(text.value||'').trim().toLowerCase(),e=env.value,s=state.value;
    if(e&&el.getAttribute('data-environment')!==e)return false;
    if(s&&el.hasAttribute('data-state')&&el.getAttribute('data-state')!==s)return false;
    if(s&&el.classList.contains('cal-entry')&&!el.classList.contains('s-'+s))return false;
    if(s&&el.classList.contains('marker')&&!el.classList.contains('s-'+s))return false;
    return !q||(el.getAttribute('data-search')||'').indexOf(q)>=0;
  }
  function apply(){
    var shown=0;
    document.querySelectorAll('#fleet tbody tr').forEach(function(tr){var ok=matches(tr);tr.hidden=!ok;if(ok)shown++;});
    document.getElementById('fleet-empty').hidden=shown>0;
    document.getElementById('fleet-count').textContent=String(shown);
    document.querySelectorAll('#hosts tbody tr').forEach(function(tr){tr.hidden=!matches(tr);});
    document.querySelectorAll('.cal-entry').forEach(function(li){li.hidden=!matches(li);});
    document.querySelectorAll('.month').forEach(function(m){m.hidden=!m.querySelector('.cal-entry:not([hidden])');});
    document.querySelectorAll('.marker').forEach(function(mk){mk.hidden=!matches(mk);});
    document.querySelectorAll('.lane').forEach(function(l){l.hidden=!!env.value&&l.getAttribute('data-environment')!==env.value;});
  }
  [text,env,state].forEach(function(el){el.addEventListener('input',apply);el.addEventListener('change',apply);});
  function sortBy(th){
    var table=th.closest('table'),index=Array.prototype.indexOf.call(th.parentNode.children,th),type=th.getAttribute('data-type');
    var dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending';
    th.parentNode.querySelectorAll('th').forEach(function(h){h.setAttribute('aria-sort','none');});th.setAttribute('aria-sort',dir);
    var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
    function key(tr){var td=tr.cells[index],v=td.hasAttribute('data-sort')?td.getAttribute('data-sort'):td.textContent;
      if(type==='number'||type==='state'){var n=parseFloat(v);return isNaN(n)?Infinity:n;}return v.toLowerCase();}
    rows.sort(function(a,b){var x=key(a),y=key(b);var c=x<y?-1:x>y?1:0;return dir==='ascending'?c:-c;});
    rows.forEach(function(r){body.appendChild(r);});
  }
  document.querySelectorAll('#fleet th').forEach(function(th){
    th.addEventListener('click',function(){sortBy(th);});
    th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();sortBy(th);}});
  });
  apply();
})();
`;

/** The whole page for `report`. */
export function renderReportHtml(report: FleetReport, options: { readonly title?: string } = {}): string {
  const now = new Date(report.generatedAt);
  const title = options.title ?? 'certrotor fleet report';
  const c = report.counts;
  const envOptions = report.environments.map((e) => `<option value="${esc(e)}">${esc(e)}</option>`).join('');
  const stateOptions = STATE_ORDER.map((s) => `<option value="${esc(s)}">${esc(s)}</option>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(title)}</h1><p>Generated ${esc(report.generatedAt)} from the recorded state · ${report.rows.length} certificate placements in ${report.environments.length} environments</p>
<div class="summary" id="summary">${STATE_ORDER.filter((s) => c[s] > 0)
    .map((s) => `<span>${stateBadge(s)} ${c[s]}</span>`)
    .join('')}</div></header>
<main>
<div class="filters"><input id="filter" type="search" placeholder="Filter: certificate, host, fingerprint, environment…" aria-label="Filter">
<select id="env-filter" aria-label="Environment"><option value="">All environments</option>${envOptions}</select>
<select id="state-filter" aria-label="State"><option value="">All states</option>${stateOptions}</select>
<span class="detail"><span id="fleet-count">${report.rows.length}</span> shown</span></div>
<section class="card" id="expiry"><h2>Expiry timeline (next ${report.horizonDays} days)</h2>${timeline(report)}
<h2 style="margin-top:16px">Expiry calendar</h2>${calendar(report.calendar)}</section>
<section class="card"><h2>Fleet</h2>${fleetTable(report.rows)}</section>
<section class="card" id="upstreams"><h2>Upstream rotation windows</h2>${upstreams(report, now)}</section>
<section class="card"><h2>Hosts: installed vs served</h2>${hostsTable(report)}</section>
<section class="card"><h2>Last rotations</h2>${rotationsTable(report)}</section>
</main>
<script>${SCRIPT}</script>
</body></html>
`;
}
