// Turns a results object (see run.mjs) into the markdown table and the SVG chart.

/** What each peer does of the crypto path, beside ours (from their source, read for this bench). */
export const PEER_TRAITS = {
  ours: {
    label: 'nestjs-wx-open-data',
    constantTime: 'yes',
    ageCheck: 'yes',
    identity: 'yes',
    strict: 'yes',
  },
  wxbizdatacrypt: {
    label: 'WXBizDataCrypt (WeChat sample, written here)',
    constantTime: 'no (===)',
    ageCheck: 'no',
    identity: 'no',
    strict: 'no',
  },
  node_easywechat: {
    label: 'node-easywechat',
    constantTime: 'no (=== here, none offered)',
    ageCheck: 'no (appid added here)',
    identity: 'no',
    strict: 'no',
  },
  wechat_jssdk: {
    label: 'wechat-jssdk',
    constantTime: 'no (===)',
    ageCheck: 'no',
    identity: 'no',
    strict: 'no',
  },
};

const ROUTE_LABELS = {
  bare: 'bare route',
  verified: '@WxVerified()',
  verified_dto: '@WxVerified(WxUserInfo)',
  noop_guard_interceptor: 'reference: an empty async guard + an empty interceptor',
};

const fmtRatio = (n) => (typeof n === 'number' ? n.toFixed(2) : 'n/a');
const fmtInt = (n) => (typeof n === 'number' ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fmtMs = (n) => (typeof n === 'number' ? n.toFixed(2) : 'n/a');

function targetText(target) {
  return target.max !== undefined ? `≤ ${target.max}` : `≥ ${target.min}`;
}

function metText(value) {
  if (value === null || value === undefined) return 'n/a';
  return value ? 'yes' : 'no';
}

/** The markdown report: targets first, then the figures behind them, then the machine. */
export function renderMarkdown(r) {
  const lines = [];
  const m = r.machine;
  lines.push(`# Benchmark results${r.smoke ? ' (smoke run: proves it runs, measures nothing)' : ''}`);
  lines.push('');
  lines.push(
    `${r.when} · ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB · Node ${m.node} · ${m.platform} · ` +
      `load average at start ${m.loadAverage.join(' / ')}, at end ${r.load_average_end.join(' / ')} · ` +
      `${Math.round(r.duration_seconds)} s in all`,
  );
  lines.push('');
  lines.push('## Targets');
  lines.push('');
  lines.push('| ratio | measured | target | met | what |');
  lines.push('| --- | ---: | ---: | :---: | --- |');
  for (const [name, target] of Object.entries(r.targets)) {
    const value = r[name];
    const shown = name === 'memory_bytes_per_session' ? fmtInt(value) : fmtRatio(value);
    lines.push(
      `| \`${name}\` | ${shown} | ${targetText(target)} | ${metText(r.met[name])} | ${target.what} |`,
    );
  }
  lines.push('');

  const c = r.crypto;
  lines.push(`## Crypto path, ns/op (median of ${c.rounds} interleaved rounds)`);
  lines.push('');
  lines.push(
    `One ${c.plaintext_bytes}-byte user-info payload: signature check, base64, AES-128-CBC, UTF-8, ` +
      'JSON, watermark appid. Ratios are medians of per-round ratios.',
  );
  lines.push('');
  lines.push(
    '| case | ns/op | ours ÷ it | constant-time signature compare | watermark age check | openId bound to session | strict base64 and padding |',
  );
  lines.push('| --- | ---: | ---: | :---: | :---: | :---: | :---: |');
  const t = PEER_TRAITS.ours;
  lines.push(
    `| **ours**: verifySignature + decryptOpenData + identity | **${fmtInt(c.ns_per_op.crypto)}** | 1.00 | ${t.constantTime} | ${t.ageCheck} | ${t.identity} | ${t.strict} |`,
  );
  for (const peer of Object.keys(c.crypto_vs_peer)) {
    const p = PEER_TRAITS[peer];
    const version = c.peer_versions[peer.replace('_', '-')] ?? '';
    const best = peer === c.best_peer ? ' (fastest peer)' : '';
    lines.push(
      `| ${p.label}${version ? ` ${version}` : ''}${best} | ${fmtInt(c.ns_per_op[peer])} | ${fmtRatio(c.crypto_vs_peer[peer])} | ${p.constantTime} | ${p.ageCheck} | ${p.identity} | ${p.strict} |`,
    );
  }
  lines.push(
    `| raw limit: createDecipheriv + update + final | ${fmtInt(c.ns_per_op.raw)} | ${fmtRatio(r.crypto_vs_raw)} | | | | |`,
  );
  lines.push(`| ours + WxUserInfo transform and validation | ${fmtInt(c.ns_per_op.full)} | | | | | |`);
  lines.push('');

  const h = r.http;
  const plan = h.plan;
  lines.push(
    `## HTTP: autocannon in another process, ${plan.connections} connections, ` +
      (plan.amount !== undefined
        ? `${plan.amount} requests per run`
        : `${plan.rounds} × ${plan.seconds} s per route after a ${plan.warmupSeconds} s warm-up, order reversed every other round`),
  );
  lines.push('');
  lines.push(
    `Memory session store; replay protection: ${h.replayProtection}. ${h.body_bytes}-byte JSON bodies on every route, a ciphertext of its own per request (a pool built before each run).`,
  );
  lines.push('');
  if (h.breakdown_us) {
    lines.push(
      'Where the µs of one `@WxVerified(WxUserInfo)` request go (1e6 ÷ req/s for the routes, stages timed in the server):',
    );
    lines.push('');
    const stages = Object.keys(Object.values(h.breakdown_us)[0] ?? {});
    lines.push(`| adapter | ${stages.join(' | ')} |`);
    lines.push(`| --- | ${stages.map(() => '---:').join(' | ')} |`);
    for (const [adapter, b] of Object.entries(h.breakdown_us)) {
      lines.push(`| ${adapter} | ${stages.map((stage) => b[stage]).join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push('| adapter | route | req/s | ÷ bare | p50 ms | p99 ms | p99 ÷ bare |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [adapter, a] of Object.entries(h.adapters)) {
    for (const [route, s] of Object.entries(a.routes)) {
      const rps = route === 'bare' ? 1 : h.ratios[`${adapter}_${route}_vs_bare`];
      const p99 = route === 'bare' ? 1 : h.p99_vs_bare[`${adapter}_${route}`];
      lines.push(
        `| ${adapter} | ${ROUTE_LABELS[route]} | ${fmtInt(s.req_per_sec)} | ${fmtRatio(rps)} | ${fmtMs(s.p50_ms)} | ${fmtMs(s.p99_ms)} | ${fmtRatio(p99)} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    'Req/s and ms are over all measured rounds; the ÷ bare columns are medians over rounds of the ratio within each round.',
  );
  lines.push('');

  lines.push('## Memory and Redis');
  lines.push('');
  lines.push(
    `- Memory store: ${fmtInt(r.memory.bytes_per_session)} bytes of heap per session at ${fmtInt(r.memory.sessions)} sessions ` +
      `(each a different user, so a session record plus that user's keys; ${fmtInt(r.memory.store_entries)} store entries).`,
  );
  lines.push(
    r.redis_vs_memory === null
      ? `- Redis against memory: not measured. ${r.redis_note}`
      : `- Redis against memory (bench/redis.bench.mjs, its own plan and routes, replay protection on): ` +
          `${fmtRatio(r.redis_vs_memory)} × the memory store's req/s, the lowest of ${Object.entries(
            r.redis?.ratios ?? {},
          )
            .map(([name, value]) => `${name} ${fmtRatio(value)}`)
            .join(', ')}` +
          (r.redis?.bytes?.per_session !== undefined
            ? `; one session takes ${fmtInt(r.redis.bytes.per_session)} bytes in Redis (MEMORY USAGE).`
            : '.'),
  );
  if (r.login) {
    lines.push(
      `- Login (code2Session against the fake WeChat on loopback): ${fmtInt(r.login.login_ops_per_sec)} logins/s; ` +
        `${r.login.token_requests_for_100_concurrent_callers} token request(s) for 100 concurrent callers.`,
    );
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A hand-written SVG: left, the crypto path against each peer (ns/op, shorter is better); right,
 * req/s of the verified routes beside the bare route on each adapter (taller is better).
 */
export function renderSvg(r) {
  const W = 980;
  const H = 490;
  const out = [];
  const text = (x, y, s, attrs = '') => out.push(`<text x="${x}" y="${y}" ${attrs}>${esc(s)}</text>`);
  const rect = (x, y, w, h, fill, attrs = '') =>
    out.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(w, 0).toFixed(1)}" height="${Math.max(h, 0).toFixed(1)}" fill="${fill}" ${attrs}/>`,
    );
  const OURS = '#1f6feb';
  const PEER = '#9aa4b2';
  const BARE = '#6e7781';
  const OK = '#1a7f37';
  const MISS = '#cf222e';

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12" fill="#24292f">`,
  );
  rect(0, 0, W, H, '#ffffff');
  text(
    20,
    28,
    'nestjs-wx-open-data: what trusting open data costs, measured in one run',
    'font-size="16" font-weight="600"',
  );
  const m = r.machine;
  text(
    20,
    46,
    `${m.cpu}, ${m.cores} cores · Node ${m.node} · load ${m.loadAverage.join('/')} at start · ${r.when.slice(0, 16).replace('T', ' ')} UTC${r.smoke ? ' · SMOKE RUN' : ''}`,
    'fill="#57606a"',
  );

  // Left panel: crypto path.
  const c = r.crypto;
  const left = { x: 20, y: 80, w: 430 };
  text(left.x, left.y, 'Crypto path: signature + decrypt + parse + watermark', 'font-weight="600"');
  text(left.x, left.y + 16, 'ns per payload, shorter is better', 'fill="#57606a"');
  const rows = [
    {
      label: 'nestjs-wx-open-data',
      note: 'ours: constant-time, age, identity',
      ns: c.ns_per_op.crypto,
      fill: OURS,
    },
    ...Object.keys(c.crypto_vs_peer).map((peer) => ({
      label: PEER_TRAITS[peer].label.replace(' (WeChat sample, written here)', ''),
      note:
        peer === 'wxbizdatacrypt'
          ? "WeChat's sample, written here"
          : `v${c.peer_versions[peer.replace('_', '-')] ?? '?'}`,
      ns: c.ns_per_op[peer],
      fill: PEER,
      ratio: c.crypto_vs_peer[peer],
    })),
    {
      label: 'raw limit',
      note: 'one decipher, nothing else',
      ns: c.ns_per_op.raw,
      fill: '#d0d7de',
      ratio: r.crypto_vs_raw,
    },
  ];
  const maxNs = Math.max(...rows.map((row) => row.ns));
  const barX = left.x + 180;
  const barW = left.w - 180;
  rows.forEach((row, i) => {
    const y = left.y + 34 + i * 36;
    text(left.x, y + 12, row.label, row.fill === OURS ? 'font-weight="600"' : '');
    text(left.x, y + 25, row.note, 'font-size="10" fill="#57606a"');
    const w = (row.ns / maxNs) * (barW - 125);
    rect(barX, y + 4, w, 18, row.fill, 'rx="2"');
    const label = `${fmtInt(row.ns)} ns${row.ratio !== undefined ? ` · ours ÷ it ${row.ratio.toFixed(2)}` : ''}`;
    text(barX + w + 4, y + 17, label, 'font-size="11"');
  });
  const cy = left.y + 34 + rows.length * 36 + 10;
  const bestOk = r.met.crypto_vs_best_peer;
  text(
    left.x,
    cy,
    `ours ÷ fastest peer: ${fmtRatio(r.crypto_vs_best_peer)} (target ≤ 0.9: ${metText(bestOk)})`,
    `font-weight="600" fill="${bestOk ? OK : MISS}"`,
  );
  text(
    left.x,
    cy + 18,
    `ours ÷ raw limit: ${fmtRatio(r.crypto_vs_raw)} (≤ 2.8: ${metText(r.met.crypto_vs_raw)}) · with DTO ÷ ours: ${fmtRatio(r.full_vs_crypto)} (≤ 2.5: ${metText(r.met.full_vs_crypto)})`,
    'fill="#57606a"',
  );
  text(
    left.x,
    cy + 36,
    `memory store: ${fmtInt(r.memory_bytes_per_session)} bytes/session at ${fmtInt(r.memory.sessions)} (≤ 400: ${metText(r.met.memory_bytes_per_session)})`,
    `fill="${r.met.memory_bytes_per_session ? OK : MISS}"`,
  );
  text(
    left.x,
    cy + 54,
    r.redis_vs_memory === null
      ? 'Redis ÷ memory store: not measured yet'
      : `Redis ÷ memory store: ${fmtRatio(r.redis_vs_memory)} (≥ 0.8: ${metText(r.met.redis_vs_memory)})`,
    'fill="#57606a"',
  );

  // Right panel: HTTP req/s.
  const h = r.http;
  const right = { x: 490, y: 80, w: 470, h: 300 };
  text(
    right.x,
    right.y,
    `HTTP, ${h.plan.connections} connections: requests per second, taller is better`,
    'font-weight="600"',
  );
  text(
    right.x,
    right.y + 16,
    'bare: the framework alone; empty: a Nest guard + interceptor, no work',
    'fill="#57606a"',
  );
  const adapters = Object.entries(h.adapters);
  const maxRps = Math.max(...adapters.flatMap(([, a]) => Object.values(a.routes).map((s) => s.req_per_sec)));
  const plotTop = right.y + 40;
  const plotBottom = right.y + right.h;
  const plotH = plotBottom - plotTop - 20;
  const groupW = right.w / adapters.length;
  const targets = r.targets;
  adapters.forEach(([adapter, a], g) => {
    const gx = right.x + g * groupW;
    const routes = Object.entries(a.routes);
    const bw = (groupW - 40) / routes.length;
    routes.forEach(([route, s], i) => {
      const x = gx + 10 + i * bw;
      const hgt = (s.req_per_sec / maxRps) * plotH;
      const fill = { bare: BARE, verified: OURS, verified_dto: '#0a3069' }[route] ?? '#d0d7de';
      rect(x + 4, plotBottom - hgt, bw - 8, hgt, fill, 'rx="2"');
      // Labels go above the bar, or above its target line when the bar falls short of it.
      const key = `${adapter}_${route}_vs_bare`;
      const ty =
        targets[key] === undefined
          ? Infinity
          : plotBottom - targets[key].min * (a.routes.bare.req_per_sec / maxRps) * plotH;
      const top = Math.min(plotBottom - hgt, ty - 2);
      text(x + bw / 2, top - 6, fmtInt(s.req_per_sec), 'text-anchor="middle" font-size="11"');
      let axisLabel = 'bare';
      if (route === 'noop_guard_interceptor') {
        axisLabel = 'empty';
        const ratio = h.ratios[`${adapter}_${route}_vs_bare`];
        text(
          x + bw / 2,
          top - 20,
          `×${fmtRatio(ratio)}`,
          'text-anchor="middle" font-size="12" fill="#57606a"',
        );
        text(x + bw / 2, plotBottom + 27, 'guard+icpt', 'text-anchor="middle" font-size="10" fill="#57606a"');
      } else if (route !== 'bare') {
        const ok = r.met[key];
        text(
          x + bw / 2,
          top - 20,
          `×${fmtRatio(r[key])}`,
          `text-anchor="middle" font-size="12" font-weight="600" fill="${ok ? OK : MISS}"`,
        );
        // The target as a dashed line across the bar: its top must reach it.
        out.push(
          `<line x1="${(x + 2).toFixed(1)}" x2="${(x + bw - 2).toFixed(1)}" y1="${ty.toFixed(1)}" y2="${ty.toFixed(1)}" stroke="${ok ? OK : MISS}" stroke-width="2" stroke-dasharray="4 3"/>`,
        );
        axisLabel = route === 'verified' ? 'verified' : '+ DTO';
        text(
          x + bw / 2,
          plotBottom + 27,
          targetText(targets[key]),
          'text-anchor="middle" font-size="10" fill="#57606a"',
        );
      }
      text(x + bw / 2, plotBottom + 14, axisLabel, 'text-anchor="middle" font-size="11"');
    });
    text(
      gx + (groupW - 20) / 2,
      plotBottom + 44,
      adapter === 'fastify' ? 'Fastify' : 'Express',
      'text-anchor="middle" font-weight="600"',
    );
  });
  out.push(
    `<line x1="${right.x}" x2="${right.x + right.w}" y1="${plotBottom}" y2="${plotBottom}" stroke="#8c959f"/>`,
  );
  const p99ok = r.met.p99_worst_vs_bare;
  text(
    right.x,
    plotBottom + 66,
    `worst p99 ÷ bare p99: ${fmtRatio(r.p99_worst_vs_bare)} (target ≤ 1.5: ${metText(p99ok)})`,
    `font-weight="600" fill="${p99ok ? OK : MISS}"`,
  );
  text(
    20,
    H - 14,
    `× = req/s ÷ the bare route's (median of per-round ratios); dashed line: the target. Green: met, red: missed. Figures: bench/results/${r.smoke ? 'smoke' : 'latest'}.json`,
    'fill="#57606a" font-size="11"',
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
