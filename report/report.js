// SPDX-License-Identifier: GPL-2.0-or-later
// stortune's report page: draws the aggregate in #stt-data ("schema": "stortune-report") as
// tables and uPlot charts. Inlined into the page by `stortune report`; nothing is fetched.
// Every chart is registered in window.sttCharts ({ id, title, kind, labels, points, plot }) and
// its element carries data-series and data-points, so that tests read what was drawn.
'use strict';
(function () {
	const doc = JSON.parse(document.getElementById('stt-data').textContent);
	const root = document.getElementById('report');
	const charts = [];
	window.sttCharts = charts;
	window.sttReport = doc;

	const PHASES = ['create', 'start', 'first-read', 'first-write', 'cow-write', 'stop', 'remove'];
	const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
		'#17becf', '#7f7f7f', '#bcbd22'];

	// ---- DOM and number helpers ----
	function el(tag, attrs, ...kids) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (v === undefined || v === null)
				continue;
			if (k === 'class')
				e.className = v;
			else
				e.setAttribute(k, v);
		}
		for (const k of kids)
			if (k !== null && k !== undefined)
				e.append(k instanceof Node ? k : String(k));
		return e;
	}
	const fin = (v) => typeof v === 'number' && isFinite(v);
	function sig(v, d) {
		if (!fin(v))
			return '-';
		const a = Math.abs(v);
		if (a === 0)
			return '0';
		if (a >= 100)
			return v.toFixed(0);
		const t = v.toPrecision(d || 3);
		return t.includes('.') && !t.includes('e') ? t.replace(/\.?0+$/, '') : String(Number(t));
	}
	const ms = (ns) => (fin(ns) ? sig(ns / 1e6) : '-');
	function bytes(b) {
		if (!fin(b))
			return '-';
		const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
		let i = 0;
		let v = b;
		while (Math.abs(v) >= 1024 && i < u.length - 1) {
			v /= 1024;
			i++;
		}
		return sig(v) + ' ' + u[i];
	}
	// A table cell of a number: shown formatted, the exact value in data-v.
	function num(v, fmt, extra) {
		return el('td', Object.assign({ class: 'num', 'data-v': fin(v) ? String(v) : '' }, extra || {}),
			fmt(v));
	}
	// A summary figure { median, lo, hi, n }: "median [lo, hi] n=N" in three cells.
	function figCells(f, fmt, key) {
		if (!f)
			return [el('td', { class: 'num' }, '-'), el('td', { class: 'ci' }, ''),
				el('td', { class: 'num' }, '')];
		const noisy = f.noisy ? ' noisy' : '';
		return [num(f.median, fmt, { 'data-k': key, class: 'num' + noisy,
			title: f.noisy ? '95% interval wider than 10% of the median' : null }),
			el('td', { class: 'ci', 'data-lo': String(f.lo), 'data-hi': String(f.hi) },
				'[' + fmt(f.lo) + ', ' + fmt(f.hi) + ']'),
			num(f.n, (v) => sig(v), { 'data-k': key ? key + '.n' : null })];
	}
	function table(cls, head, rows, attrs) {
		const t = el('table', Object.assign({ class: 'data ' + (cls || '') }, attrs || {}));
		const tr = el('tr');
		for (const h of head)
			tr.append(el('th', {}, h));
		t.append(el('thead', {}, tr));
		const tb = el('tbody');
		for (const r of rows)
			tb.append(r);
		t.append(tb);
		return t;
	}
	function row(attrs, ...cells) {
		const tr = el('tr', attrs);
		for (const c of cells.flat())
			tr.append(c instanceof Node && c.tagName === 'TD' ? c : el('td', {}, c));
		return tr;
	}

	// ---- Charts (uPlot) ----
	function register(id, title, kind, box, labels, data, opts) {
		const points = labels.map((_, i) => data[i + 1].filter((v) => v !== null && v !== undefined).length);
		box.setAttribute('data-chart', id);
		box.setAttribute('data-kind', kind);
		box.setAttribute('data-series', String(labels.length));
		box.setAttribute('data-points', points.join(','));
		const plot = new uPlot(opts, data, box);
		charts.push({ id, title, kind, labels, points, plot });
		return plot;
	}

	// Step CDFs on a log time axis: @series = [{ label, x_ns, cdf, dash }].
	function cdfChart(id, title, series) {
		const box = el('div', { class: 'chart' });
		const xs = [...new Set(series.flatMap((s) => s.x_ns))].sort((a, b) => a - b);
		const pos = new Map(xs.map((x, i) => [x, i]));
		const data = [xs.map((x) => x / 1e6)];
		for (const s of series) {
			const y = new Array(xs.length).fill(null);
			s.x_ns.forEach((x, i) => { y[pos.get(x)] = s.cdf[i]; });
			data.push(y);
		}
		const opts = {
			title, width: 560, height: 300, legend: { live: false },
			scales: { x: { time: false, distr: 3 }, y: { range: [0, 1] } },
			axes: [{ label: 'latency (ms, log scale)', values: (u, v) => v.map((x) => (x === null ? null : sig(x, 2))) },
				{ label: 'fraction of operations ≤ x' }],
			series: [{ label: 'ms', value: (u, v) => (v === null ? '-' : sig(v)) }].concat(series.map((s, i) => ({
				label: s.label, stroke: COLORS[i % COLORS.length], width: 2, dash: s.dash,
				spanGaps: true, paths: uPlot.paths.stepped({ align: 1 }),
				points: { show: true, size: 4 },
			}))),
		};
		register(id, title, 'cdf', box, series.map((s) => s.label), data, opts);
		return box;
	}

	// Grouped bars: @cats category names, @series = [{ label, values: [one per category] }].
	function barChart(id, title, ylabel, cats, series, yfmt, width) {
		const box = el('div', { class: 'chart' });
		const k = series.length;
		const xs = [];
		const w = width || 560;
		const data = [xs];
		series.forEach(() => data.push([]));
		cats.forEach((_, c) => {
			series.forEach((s, j) => {
				xs.push(c + (j + 1) / (k + 1) - 0.5);
				series.forEach((_s, jj) => data[jj + 1].push(jj === j && fin(s.values[c]) ? s.values[c] : null));
			});
		});
		const opts = {
			title, width: w, height: 300, legend: { live: false },
			scales: { x: { time: false, range: [-0.6, cats.length - 0.4] }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] } },
			axes: [{ splits: () => cats.map((_, i) => i), values: (u, v) => v.map((i) => cats[i] || ''), grid: { show: false } },
				{ label: ylabel, values: (u, v) => v.map((x) => (x === null ? null : (yfmt || sig)(x))), size: 70 }],
			series: [{ label: 'category', value: (u, v) => (v === null ? '-' : cats[Math.round(v)] || '') }].concat(series.map((s, i) => ({
				label: s.label, stroke: COLORS[i % COLORS.length], fill: COLORS[i % COLORS.length] + 'b0',
				width: 1, paths: uPlot.paths.bars({ size: [0.9, 80], align: 0 }), points: { show: false },
			}))),
		};
		register(id, title, 'bars', box, series.map((s) => s.label), data, opts);
		return box;
	}

	// Lines over ordered categories (the tuning sweep): @series = [{ label, values }].
	function lineChart(id, title, ylabel, cats, series, yfmt) {
		const box = el('div', { class: 'chart' });
		const data = [cats.map((_, i) => i)].concat(series.map((s) => s.values.map((v) => (fin(v) ? v : null))));
		const opts = {
			title, width: 560, height: 300, legend: { live: false },
			scales: { x: { time: false, range: [-0.3, cats.length - 0.7] } },
			axes: [{ splits: () => cats.map((_, i) => i), values: (u, v) => v.map((i) => cats[i] || '') },
				{ label: ylabel, values: (u, v) => v.map((x) => (x === null ? null : (yfmt || sig)(x))), size: 70 }],
			series: [{ label: 'point', value: (u, v) => (v === null ? '-' : cats[v] || '') }].concat(series.map((s, i) => ({
				label: s.label, stroke: COLORS[i % COLORS.length], width: 2, dash: s.dash,
				points: { show: true, size: 6 },
			}))),
		};
		register(id, title, 'lines', box, series.map((s) => s.label), data, opts);
		return box;
	}

	const pair = (chart, tbl) => el('div', { class: 'pair' }, chart, el('div', { class: 'side' }, tbl));
	const section = (title, ...kids) => el('section', {}, el('h3', {}, title), ...kids);

	// ---- Sections of one run ----
	function envTable(r) {
		const t = r.target || {};
		const d = r.detail || {};
		const o = d.options || {};
		const rows = [
			['host', r.host], ['run id', r.run_id], ['created', r.created], ['file', r.file],
			['environment', r.label], ['kernel', r.kernel],
			['CPU', (r.cpu || '?') + ' (' + (r.cores || '?') + ' cores)'],
			['memory', bytes(r.memory_bytes)], ['Docker (dockerd)', r.docker_version || 'not installed'],
			['stortune', (r.tool_version || '?') + ' (' + (r.tool_git_revision || '?') + ')'],
			['profile', (r.profile || '?') + ' ' + (r.profile_hash || '')],
			['target', [t.device ? 'device ' + t.device : null, t.workdir ? 'workdir ' + t.workdir : null,
				t.fstype || t.fs, t.model, fin(t.size_bytes) ? bytes(t.size_bytes) : null].filter(Boolean).join(', ') || '-'],
			['run', fin(o.containers) ? o.containers + ' containers, ' + o.concurrency + ' at a time, ' +
				o.repetitions + ' repetitions' : '-'],
		];
		if (r.command)
			rows.push(['command', r.command]);
		return el('table', { class: 'kv' }, ...rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v === undefined || v === null ? '-' : v))));
	}

	function verdicts(r) {
		const ok = r.backends.filter((b) => b.status === 'ok');
		const skipped = r.backends.filter((b) => b.status !== 'ok');
		const kids = [table('verdicts', ['backend', 'status', 'environment', 'verdict'],
			r.backends.map((b) => row({ class: 'st-' + b.status, 'data-backend': b.backend },
				b.backend, b.status, b.environment || (b.status === 'ok' ? 'native' : '-'), b.verdict)))];
		if (skipped.length)
			kids.push(el('h4', {}, 'Not run'), el('ul', { class: 'skipped' },
				...skipped.map((b) => el('li', { 'data-backend': b.backend }, el('b', {}, b.backend), ' (' + b.status + '): ', b.reason || 'no reason given'))));
		else
			kids.push(el('p', { class: 'note' }, 'Every backend asked for ran (' + ok.length + ').'));
		return section('Verdicts', ...kids);
	}

	function serLabel(s) {
		return s.backend + ' ' + s.mode + (s.environment && s.environment !== 'native' ? ' (' + s.environment + ')' : '');
	}

	function latency(ri, d) {
		const kids = [el('p', { class: 'note' }, 'Each curve is the distribution of one phase\'s operation over every container ' +
			'and repetition (N), from the stored histogram (fio\'s buckets, at their midpoints): the share of ' +
			'operations that took at most x. Further left is faster; a long tail to the right is the p99. ' +
			'Cold (solid): caches dropped before the phase; warm (dashed): not. The table gives the ' +
			'histogram\'s p50/p99 and the median p50 over the repetitions with its 95% interval and n.')];
		const cards = [];
		for (const ph of d.latency) {
			if (!ph.series.length)
				continue;
			const ser = ph.series.filter((s) => s.x_ns.length);
			const chart = cdfChart('r' + ri + '-cdf-' + ph.phase, ph.phase + ': latency CDF',
				ser.map((s) => ({ label: serLabel(s), x_ns: s.x_ns, cdf: s.cdf, dash: s.mode === 'warm' ? [6, 4] : undefined })));
			const tbl = table('latency', ['backend', 'mode', 'N', 'p50 ms', 'p99 ms', 'p50 ms (reps)', '95% interval', 'n'],
				ph.series.map((s) => row({ 'data-backend': s.backend, 'data-mode': s.mode, 'data-phase': ph.phase },
					s.backend, s.mode, num(s.N, sig, { 'data-k': 'N' }), num(s.p50_ns, ms, { 'data-k': 'p50_ns' }),
					num(s.p99_ns, ms, { 'data-k': 'p99_ns' }), figCells(s.p50_reps, ms, 'p50_reps'))));
			cards.push(el('div', { class: 'card' }, chart, tbl));
		}
		kids.push(el('div', { class: 'grid' }, ...cards));
		return section('Latency per phase', ...kids);
	}

	function breakdown(ri, d) {
		const ser = d.modes.map((m) => ({ label: serLabel(m), values: m.phases.map((p) => (p.p50_ns ? p.p50_ns.median / 1e6 : null)) }));
		const chart = barChart('r' + ri + '-phases', 'a container\'s phases: p50 (ms)', 'ms', PHASES, ser);
		const rows = [];
		for (const m of d.modes)
			for (const p of m.phases)
				rows.push(row({ 'data-backend': m.backend, 'data-mode': m.mode, 'data-phase': p.phase },
					m.backend, m.mode, p.phase, figCells(p.p50_ns, ms, 'p50_ns')));
		const storm = table('storm', ['backend', 'mode', 'containers/s', '95% interval', 'n'],
			d.modes.map((m) => row({ 'data-backend': m.backend, 'data-mode': m.mode }, m.backend, m.mode,
				figCells(m.containers_per_s, sig, 'containers_per_s'))));
		return section('Phase breakdown of a container\'s start',
			el('p', { class: 'note' }, 'Bars: the median over repetitions of each phase\'s p50, per backend and mode; ' +
				'their sum is what one container costs from create to remove. The storm table is the throughput ' +
				'of the whole sequence at the run\'s concurrency.'),
			pair(chart, table('breakdown', ['backend', 'mode', 'phase', 'p50 ms', '95% interval', 'n'], rows)), storm);
	}

	function deviceIO(ri, d) {
		const ser = [];
		for (const m of d.modes) {
			ser.push({ label: serLabel(m) + ' read', values: m.phases.map((p) => (p.read_bytes ? p.read_bytes.median : null)) });
			ser.push({ label: serLabel(m) + ' written', values: m.phases.map((p) => (p.write_bytes ? p.write_bytes.median : null)) });
		}
		const chart = barChart('r' + ri + '-device', 'device bytes per phase (all containers)', 'bytes', PHASES, ser, bytes);
		const rows = [];
		for (const m of d.modes)
			for (const p of m.phases)
				rows.push(row({ 'data-backend': m.backend, 'data-mode': m.mode, 'data-phase': p.phase },
					m.backend, m.mode, p.phase, figCells(p.read_bytes, bytes, 'read_bytes'),
					figCells(p.write_bytes, bytes, 'write_bytes'),
					num(p.requested_bytes, bytes, { 'data-k': 'requested_bytes' }),
					figCells(p.amplification, (v) => sig(v), 'amplification')));
		return section('Device I/O and amplification',
			el('p', { class: 'note' }, 'Bytes read and written on the device under the backend during each phase ' +
				'(/sys/block/DEV/stat, median over repetitions). Amplification = device bytes ÷ the bytes the ' +
				'containers asked for: below 1 when containers share the page cache, 0 when warm.'),
			pair(chart, table('device', ['backend', 'mode', 'phase', 'read', '95% interval', 'n', 'written', '95% interval', 'n', 'asked', 'ampl.', '95% interval', 'n'], rows)));
	}

	function pageCache(ri, d) {
		const backends = [...new Set(d.modes.map((m) => m.backend + (m.environment && m.environment !== 'native' ? ' (' + m.environment + ')' : '')))];
		const lab = (m) => m.backend + (m.environment && m.environment !== 'native' ? ' (' + m.environment + ')' : '');
		const ser = ['cold', 'warm'].filter((mo) => d.modes.some((m) => m.mode === mo)).map((mo) => ({
			label: mo, values: backends.map((b) => { const m = d.modes.find((x) => lab(x) === b && x.mode === mo); return m && m.page_cache_per_container_bytes ? m.page_cache_per_container_bytes.median : null; }),
		}));
		const chart = barChart('r' + ri + '-pagecache', 'page cache growth per container', 'bytes', backends, ser, bytes);
		const rows = d.modes.map((m) => row({ 'data-backend': m.backend, 'data-mode': m.mode }, m.backend, m.mode,
			figCells(m.page_cache_per_container_bytes, bytes, 'page_cache_per_container_bytes'),
			num(m.pool_data_per_container_bytes && m.pool_data_per_container_bytes.median, bytes, { 'data-k': 'pool_data' })));
		return section('Page cache per container',
			el('p', { class: 'note' }, 'Growth of the page cache during first-read, per container: on overlay ' +
				'the containers of one image share the lower layers\' cache; each thin device has its own.'),
			pair(chart, table('pagecache', ['backend', 'mode', 'page cache', '95% interval', 'n', 'pool data'], rows)));
	}

	// Backends measured natively beside ones from the emulated VM tier (qualify --include).
	function emulated(d) {
		const env = (m) => m.environment || 'native';
		const nat = d.modes.filter((m) => env(m) === 'native');
		const emu = d.modes.filter((m) => env(m) !== 'native');
		if (!nat.length || !emu.length)
			return null;
		const rows = [];
		for (const e of emu)
			for (const n of nat.filter((x) => x.mode === e.mode))
				for (let i = 0; i < PHASES.length; i++) {
					const a = e.phases[i].p50_ns;
					const b = n.phases[i].p50_ns;
					rows.push(row({ 'data-backend': e.backend, 'data-mode': e.mode, 'data-phase': PHASES[i] },
						e.backend + ' (' + env(e) + ')', n.backend + ' (native)', e.mode, PHASES[i],
						num(a && a.median, ms), num(b && b.median, ms),
						num(a && b && b.median > 0 ? a.median / b.median : NaN, (v) => sig(v) + '×')));
				}
		return section('Emulated against native',
			el('p', { class: 'note' }, 'Backends measured in the emulated VM tier (Debian\'s kernel under qemu/TCG ' +
				'with an emulated NVMe disk) beside the ones measured natively on this host: the ratio says how much ' +
				'of a difference is the emulation. Figures from the VM show that a backend works and how its costs ' +
				'compare in kind, not this host\'s speed.'),
			table('emulated', ['emulated', 'native', 'mode', 'phase', 'emulated p50 ms', 'native p50 ms', 'ratio'], rows));
	}

	function tune(ri, t) {
		const pts = t.points;
		const chunks = [...new Set(pts.map((p) => p.chunk_size_bytes))].sort((a, b) => a - b);
		const cats = chunks.map((c) => bytes(c).replace(' ', ''));
		const ser = [];
		for (const z of [false, true]) {
			const at = (c, k) => { const p = pts.find((q) => q.chunk_size_bytes === c && q.zeroing === z && q.status === 'ok'); return p && p[k] ? p[k].median / 1e6 : null; };
			if (!pts.some((p) => p.zeroing === z))
				continue;
			ser.push({ label: 'start p50, zeroing ' + (z ? 'on' : 'off'), values: chunks.map((c) => at(c, 'start_p50_ns')), dash: z ? [6, 4] : undefined });
			ser.push({ label: 'first-write p50, zeroing ' + (z ? 'on' : 'off'), values: chunks.map((c) => at(c, 'first_write_p50_ns')), dash: z ? [6, 4] : undefined });
		}
		const chart = lineChart('r' + ri + '-tune', t.backend + ' thin-pool sweep: latency by chunk size', 'ms', cats, ser);
		const rows = pts.map((p) => row({ 'data-chunk': String(p.chunk_size_bytes), 'data-zeroing': String(p.zeroing) },
			bytes(p.chunk_size_bytes), p.zeroing ? 'on' : 'off', p.status,
			figCells(p.start_p50_ns, ms, 'start_p50_ns'), figCells(p.first_write_p50_ns, ms, 'first_write_p50_ns'),
			num(p.pool_data_bytes_per_container, bytes, { 'data-k': 'pool_data_bytes_per_container' }),
			p.reason || ''));
		return section('Thin-pool sweep (tune)',
			el('p', { class: 'note' }, 'Each point is a full benchmark on a pool of that chunk size, with block ' +
				'zeroing on or off: larger chunks cost less metadata and more space per container (pool data) and ' +
				'more bytes per first write; zeroing adds the zeroing of each new chunk to the first write.'),
			pair(chart, table('tune', ['chunk', 'zeroing', 'status', 'start p50 ms', '95% interval', 'n',
				'first-write p50 ms', '95% interval', 'n', 'pool data/ctr', 'reason'], rows)));
	}

	function raw(r) {
		return section('Raw device (qualify)', table('raw', ['job', 'IOPS', 'bandwidth', 'clat p50 ms', 'clat p99 ms', 'error'],
			r.map((j) => row({ 'data-job': j.name }, j.name, num(j.iops, sig, { 'data-k': 'iops' }), num(j.bw_bytes, (v) => bytes(v) + '/s'),
				num(j.clat_p50_ns, ms), num(j.clat_p99_ns, ms), j.error || ''))));
	}

	function recommendation(rec) {
		const kids = [el('p', {}, 'Recommended storage driver: ', el('b', { class: 'driver' }, rec.driver || '-'),
			' for Docker ' + (rec.docker_version || '?') + ' (' + rec.docker_origin + ').')];
		kids.push(table('recommendation', ['setting', 'value', 'source', 'evidence'],
			rec.decisions.map((d) => row({ 'data-key': d.key, class: 'src-' + d.source }, d.key, d.value || '-', d.source,
				el('td', { class: 'evidence' }, d.evidence)))));
		if (rec.not_measured.length)
			kids.push(el('h4', {}, 'Not backed by a measurement here'), el('ul', {}, ...rec.not_measured.map((s) => el('li', {}, s))));
		return section('Recommendation', ...kids);
	}

	function run(r, ri) {
		const title = 'Run ' + (ri + 1) + ': ' + r.host + ' — ' + (r.created || '') + ' (' + r.label + ')';
		// one run: open; several: each folded under its title (the fleet view comes first)
		const s = doc.runs.length > 1
			? el('details', { class: 'run', id: 'run-' + ri, 'data-run': String(ri) }, el('summary', {}, el('h2', {}, title)), envTable(r), verdicts(r))
			: el('section', { class: 'run', id: 'run-' + ri, 'data-run': String(ri) }, el('h2', {}, title), envTable(r), verdicts(r));
		const d = r.detail;
		if (!d)
			return s;
		if (d.latency.some((p) => p.series.length)) {
			s.append(latency(ri, d), breakdown(ri, d), deviceIO(ri, d), pageCache(ri, d));
			const em = emulated(d);
			if (em)
				s.append(em);
		}
		if (d.tune && d.tune.points.length)
			s.append(tune(ri, d.tune));
		if (d.raw && d.raw.length)
			s.append(raw(d.raw));
		s.append(recommendation(d.recommendation));
		if (d.warnings && d.warnings.length)
			s.append(section('Warnings of the run', el('ul', { class: 'warnings' }, ...d.warnings.map((w) => el('li', {}, w)))));
		return s;
	}

	// ---- Fleet ----
	function fleet(f) {
		const runs = doc.runs;
		const keys = f.key_metrics;
		const byName = new Map(f.metrics.map((m) => [m.name, m]));
		const outl = new Map();
		for (const m of f.metrics)
			for (const o of m.mad_outliers)
				outl.set(o.run + '\n' + m.name, o);
		const fmtOf = (m) => (m && m.unit === 'ns' ? ms : sig);
		const head = ['#', 'host', 'created', 'env', 'kernel', 'Docker'].concat(keys.map((k) => k.replace(/\/p50$/, ' p50').replace('/storm/containers_per_s', ' containers/s') + (byName.get(k) && byName.get(k).unit === 'ns' ? ' (ms)' : '')), ['recommended']);
		const differ = new Set(f.recommendation.differing.map((d) => d.run));
		const rows = runs.map((r, i) => row({ 'data-run': String(i), 'data-host': r.host, class: differ.has(i) ? 'differs' : null },
			el('td', {}, r.detail ? el('a', { href: '#run-' + i }, String(i + 1)) : String(i + 1)), r.host, r.created || '', r.label, r.kernel || '', r.docker_version || '-',
			keys.map((k) => { const o = outl.get(i + '\n' + k); return num(r.figures[k], fmtOf(byName.get(k)), { 'data-k': k, class: o ? 'num outlier' : 'num', title: o ? 'outlier: modified z-score ' + sig(o.z) : null }); }),
			r.recommendation.signature));
		const kids = [el('p', {}, runs.length + ' runs from ' + f.hosts + ' hosts. Cells marked are outliers among the runs (modified z-score ' +
			'0.6745·|x − median|/MAD above 3.5); rows marked recommend other than the majority (' + f.recommendation.majority + ', ' + f.recommendation.count + ' of ' + runs.length + ').'),
			table('fleet', head, rows)];
		const charted = keys.slice(0, 3);
		const grid = el('div', { class: 'grid3' });
		kids.push(grid);
		for (const k of charted) {
			const m = byName.get(k);
			const scale = m && m.unit === 'ns' ? 1e6 : 1;
			grid.append(barChart('fleet-' + k.replace(/[^a-z0-9]+/gi, '-'), k.replace('/storm/containers_per_s', ' containers/s') + (scale > 1 ? ' (ms)' : '') + ' per run (#)', scale > 1 ? 'ms' : m ? m.unit : '',
				runs.map((r, i) => String(i + 1)), [{ label: k, values: runs.map((r) => (fin(r.figures[k]) ? r.figures[k] / scale : null)) }], sig, 400));
		}
		const ol = f.metrics.filter((m) => m.mad_outliers.length);
		kids.push(el('h3', {}, 'Outliers per figure'), ol.length ? table('outliers', ['figure', 'fleet median', 'n', 'run', 'host', 'value', 'modified z'],
			ol.flatMap((m) => m.mad_outliers.map((o) => row({ 'data-metric': m.name, 'data-run': String(o.run) }, m.name, num(m.median, fmtOf(m)), num(m.n, sig),
				String(o.run + 1), o.host, num(o.value, fmtOf(m)), num(o.z, sig))))) : el('p', {}, 'No figure has an outlier.'));
		kids.push(el('h3', {}, 'Recommendations that differ from the majority'), f.recommendation.differing.length
			? table('differing', ['run', 'host', 'recommended'], f.recommendation.differing.map((d) => row({ 'data-run': String(d.run) }, String(d.run + 1), d.host, d.signature)))
			: el('p', {}, 'Every run recommends the same: ' + f.recommendation.majority + '.'));
		return el('section', { class: 'fleet', id: 'fleet' }, el('h2', {}, 'Fleet'), ...kids);
	}

	// ---- Comparison ----
	function compare(c) {
		const order = { regression: 0, improvement: 1, 'within threshold': 2, 'no change': 3, inconclusive: 4, 'not gated': 5 };
		const ms2 = c.metrics.slice().sort((a, b) => (order[a.verdict] ?? 9) - (order[b.verdict] ?? 9));
		const pct = (v) => (fin(v) ? (v >= 0 ? '+' : '') + (v * 100).toFixed(1) + '%' : '-');
		const kids = [el('p', {}, 'Baseline ' + c.baseline_file + ', candidate ' + c.candidate_file + ': ' + c.regressions +
			' regression(s), ' + c.improvements + ' improvement(s), ' + (c.inconclusive || 0) + ' inconclusive, ' + (c.not_gated || 0) +
			' not gated. A regression needs a one-sided Mann-Whitney p below ' +
			c.params.alpha + (c.params.blocks > 1 ? ', tested on the medians of ' + c.params.blocks + ' blocks of consecutive repetitions a side,' : '') +
			' and the change\'s bound beyond the threshold (' + pct(c.params.threshold) + ', raised to ' +
			(c.params.noise_factor ?? '-') + ' times the spread of one of the baseline\'s repetitions); ' +
			'the interval is the one-sided bounds of the relative change at ' + c.params.confidence + '. A change adjusted for ' +
			'the machine\'s control (its method says so) is the storage\'s once the control\'s share is taken out' +
			(fin(c.params.adjust_hedge) ? ', its threshold raised by ' + c.params.adjust_hedge + ' times what the adjustment moved it by' : '') +
			'; the medians are as recorded.')];
		if (c.environment_differences && c.environment_differences.length)
			kids.push(el('p', { class: 'warn' }, 'The runs come from different environments: ' + c.environment_differences.join('; ')));
		kids.push(table('compare', ['metric', 'verdict', 'change', 'interval', 'baseline', 'n', 'candidate', 'n', 'p (worse)', 'method'],
			ms2.map((m) => row({ 'data-metric': m.name, class: 'v-' + m.verdict.replace(/ /g, '-') }, m.name, m.verdict, num(m.change, pct, { 'data-k': 'change' }),
				'[' + pct(m.change_lo) + ', ' + pct(m.change_hi) + ']', num(m.baseline.median, m.unit === 'ns' ? ms : sig),
				num(m.baseline.n, sig), num(m.candidate.median, m.unit === 'ns' ? ms : sig), num(m.candidate.n, sig),
				num(m.p_worse, (v) => sig(v, 2)),
				m.method + (m.blocks > 1 ? ' on ' + m.blocks + ' block medians a side' : '') +
				(fin(m.control_slope) ? ', adjusted for the control (slope ' + sig(m.control_slope, 2) + ')' : '')))));
		return el('section', { class: 'compare', id: 'compare' }, el('h2', {}, 'Comparison'), ...kids);
	}

	// ---- The page ----
	root.append(el('h1', {}, 'stortune report'),
		el('p', { class: 'meta' }, doc.runs.length + ' run' + (doc.runs.length === 1 ? '' : 's') + ', written ' + doc.created +
			' by stortune ' + doc.tool_version + (doc.runs.length > doc.detail_runs ? '; detail drawn for the first ' + doc.detail_runs : '')));
	if (doc.warnings.length)
		root.append(el('ul', { class: 'warnings' }, ...doc.warnings.map((w) => el('li', {}, w))));
	if (doc.compare)
		root.append(compare(doc.compare));
	if (doc.runs.length > 1)
		root.append(fleet(doc.fleet));
	doc.runs.forEach((r, i) => { if (r.detail || doc.runs.length === 1) root.append(run(r, i)); });
	document.body.setAttribute('data-ready', String(charts.length));
})();
