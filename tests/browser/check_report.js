// SPDX-License-Identifier: GPL-2.0-or-later
// Opens a report written by `stortune report` in Debian's headless chromium (playwright-core,
// never a downloaded browser) and checks it against the results files it was made from:
//   - no console error, no page error, no network request (the page must be self-contained);
//   - every chart the results call for is drawn (a canvas), with the right number of series
//     and of points per series, read from the uPlot objects in the page;
//   - the numbers in the tables (their exact values, data-v) equal the results files';
//   - a full-page screenshot.
// usage: node check_report.js REPORT.html SCREENSHOT.png RESULTS.json [MORE.json ...]
// The results files in the order given to `stortune report` (duplicates left out).
// Prints one line per check group; exits 1 on the first failed group, with what differed.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require(path.join(__dirname, '../../vendor/npm/node_modules/playwright-core'));

const PHASES = ['create', 'start', 'first-read', 'first-write', 'cow-write', 'stop', 'remove'];
const MODES = ['cold', 'warm'];
const DETAIL_MAX = 12;

const [html, shot, ...files] = process.argv.slice(2);
if (!html || !shot || !files.length) {
	console.error('usage: node check_report.js REPORT.html SCREENSHOT.png RESULTS.json [MORE.json ...]');
	process.exit(2);
}
const docs = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
let failures = 0;
function check(what, cond, detail) {
	if (!cond) {
		failures++;
		console.error('FAIL ' + what + (detail ? ': ' + detail : ''));
	}
}

// What the results files say the page must show.
function expectedCharts() {
	const want = new Map(); // id -> { series, points: [..] }
	docs.slice(0, DETAIL_MAX).forEach((d, ri) => {
		const ok = d.backends.filter((b) => (b.status || 'ok') === 'ok');
		const bm = [];
		for (const b of ok)
			for (const m of MODES)
				if (b.modes && b.modes[m])
					bm.push([b, m]);
		if (!bm.length)
			return;
		for (const ph of PHASES) {
			const pts = bm.map(([b, m]) => Object.keys(((b.modes[m].phases[ph] || {}).lat_ns || {}).bins || {}).length)
				.filter((n) => n > 0);
			if (pts.length)
				want.set('r' + ri + '-cdf-' + ph, pts);
		}
		want.set('r' + ri + '-phases', bm.map(([b, m]) => PHASES.filter((p) => b.modes[m].phases[p] && b.modes[m].phases[p].p50_ns).length));
		want.set('r' + ri + '-device', bm.flatMap(([b, m]) => ['read_bytes', 'write_bytes'].map((k) =>
			PHASES.filter((p) => b.modes[m].phases[p] && b.modes[m].phases[p].device && b.modes[m].phases[p].device[k]).length)));
		const modesPresent = MODES.filter((m) => bm.some(([, mm]) => mm === m));
		want.set('r' + ri + '-pagecache', modesPresent.map((m) => bm.filter(([b, mm]) => mm === m && b.modes[m].page_cache_per_container_bytes).length));
		if (d.tune && d.tune.points && d.tune.points.length) {
			const pts = [];
			for (const z of [false, true]) {
				if (!d.tune.points.some((p) => p.zeroing === z))
					continue;
				for (const k of ['start_p50_ns', 'first_write_p50_ns'])
					pts.push(d.tune.points.filter((p) => p.zeroing === z && p.status === 'ok' && p[k]).length);
			}
			want.set('r' + ri + '-tune', pts);
		}
	});
	return want;
}

function fig(d, name) { // a compare-style metric name -> the median in the results file
	const [b, m, ph, st] = name.split('/');
	const be = d.backends.find((x) => x.backend === b && (x.status || 'ok') === 'ok');
	const mo = be && be.modes && be.modes[m];
	if (!mo)
		return undefined;
	if (ph === 'storm')
		return mo.storm && mo.storm[st] && mo.storm[st].median;
	const p = mo.phases[ph];
	if (!p)
		return undefined;
	if (st === 'amplification')
		return p.amplification && p.amplification.median;
	return p[st + '_ns'] && p[st + '_ns'].median;
}

(async () => {
	const udd = fs.mkdtempSync(path.join(os.tmpdir(), 'stt-chromium-'));
	const ctx = await chromium.launchPersistentContext(udd, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		viewport: { width: 1280, height: 900 },
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
			'--disable-sync', '--no-first-run', '--disable-quic'],
	});
	try {
		const page = await ctx.newPage();
		const errors = [];
		const requests = [];
		page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.type() + ': ' + m.text()); });
		page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
		page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
		await page.goto('file://' + path.resolve(html), { waitUntil: 'load' });
		await page.waitForFunction(() => document.body.hasAttribute('data-ready'), null, { timeout: 20000 });

		check('no console or page error', errors.length === 0, errors.join(' | '));
		check('no network request', requests.length === 0, requests.join(' '));

		// Charts, read from the uPlot objects in the page.
		const drawn = await page.evaluate(() => window.sttCharts.map((c) => ({
			id: c.id,
			series: c.plot.series.length - 1,
			points: c.plot.data.slice(1).map((s) => s.filter((v) => v !== null && v !== undefined).length),
			canvas: !!c.plot.root.querySelector('canvas') && c.plot.root.querySelector('canvas').width > 0,
			attr: c.plot.root.parentElement.getAttribute('data-points'),
		})));
		const byId = new Map(drawn.map((c) => [c.id, c]));
		const want = expectedCharts();
		for (const [id, pts] of want) {
			const c = byId.get(id);
			check('chart ' + id + ' drawn', c && c.canvas);
			if (!c)
				continue;
			check('chart ' + id + ' series', c.series === pts.length, 'page ' + c.series + ', results ' + pts.length);
			check('chart ' + id + ' points', JSON.stringify(c.points) === JSON.stringify(pts),
				'page ' + JSON.stringify(c.points) + ', results ' + JSON.stringify(pts));
		}
		let fleetCharts = 0;
		const runs = await page.evaluate(() => window.sttReport.runs.length);
		check('runs in the page', runs === docs.length, 'page ' + runs + ', files ' + docs.length);
		if (docs.length > 1) {
			const keys = await page.evaluate(() => window.sttReport.fleet.key_metrics);
			for (const k of keys.slice(0, 3)) {
				const c = byId.get('fleet-' + k.replace(/[^a-z0-9]+/gi, '-'));
				fleetCharts++;
				check('fleet chart ' + k, c && c.canvas && c.series === 1 &&
					c.points[0] === docs.filter((d) => fig(d, k) !== undefined).length, JSON.stringify(c));
			}
		}
		console.log('charts: ' + want.size + ' per-run charts and ' + fleetCharts + ' fleet charts checked (' +
			drawn.length + ' drawn)');

		// Tables: the exact values against the results files.
		let cells = 0;
		// every numeric cell once, by a selector path of its row's data attributes
		const cellMap = await page.evaluate(() => {
			const m = {};
			for (const td of document.querySelectorAll('td[data-k]')) {
				const tr = td.closest('tr');
				const tbl = td.closest('table');
				const run = td.closest('[data-run]:not(tr)');
				const key = [run ? run.getAttribute('data-run') : '', tbl.className,
					...['data-backend', 'data-mode', 'data-phase', 'data-run'].map((a) => tr.getAttribute(a) || ''),
					td.getAttribute('data-k')].join('|');
				(m[key] = m[key] || []).push(td.getAttribute('data-v'));
			}
			return m;
		});
		const cell = (run, tbl, be, mo, ph, rrun, k) => {
			const v = cellMap[[run, 'data ' + tbl, be, mo, ph, rrun, k].join('|')];
			return v && v.length === 1 ? v[0] : undefined;
		};
		const same = (what, got, exp) => {
			cells++;
			check(what, got !== undefined && exp !== undefined && exp !== null && Number(got) === exp,
				'page ' + got + ', results ' + exp);
		};
		for (let ri = 0; ri < Math.min(docs.length, DETAIL_MAX); ri++) {
			const d = docs[ri];
			for (const b of d.backends.filter((x) => (x.status || 'ok') === 'ok'))
				for (const m of MODES) {
					const mo = b.modes && b.modes[m];
					if (!mo)
						continue;
					for (const ph of PHASES) {
						const p = mo.phases[ph];
						if (!p)
							continue;
						const lat = (k) => cell(String(ri), 'latency', b.backend, m, ph, '', k);
						const dev = (k) => cell(String(ri), 'device', b.backend, m, ph, '', k);
						const w = `run ${ri} ${b.backend} ${m} ${ph}`;
						same(w + ' N', lat('N'), p.lat_ns.N);
						same(w + ' p50', lat('p50_ns'), p.lat_ns.percentile['50.000000']);
						same(w + ' p99', lat('p99_ns'), p.lat_ns.percentile['99.000000']);
						same(w + ' p50 reps', lat('p50_reps'), p.p50_ns.median);
						same(w + ' p50 n', lat('p50_reps.n'), p.p50_ns.n);
						same(w + ' breakdown p50', cell(String(ri), 'breakdown', b.backend, m, ph, '', 'p50_ns'), p.p50_ns.median);
						same(w + ' read bytes', dev('read_bytes'), p.device.read_bytes.median);
						same(w + ' write bytes', dev('write_bytes'), p.device.write_bytes.median);
						same(w + ' read bytes n', dev('read_bytes.n'), p.device.read_bytes.n);
						if (p.amplification)
							same(w + ' amplification', dev('amplification'), p.amplification.median);
					}
					same(`run ${ri} ${b.backend} ${m} containers/s`, cell(String(ri), 'storm', b.backend, m, '', '', 'containers_per_s'), mo.storm.containers_per_s.median);
					same(`run ${ri} ${b.backend} ${m} page cache`, cell(String(ri), 'pagecache', b.backend, m, '', '', 'page_cache_per_container_bytes'), mo.page_cache_per_container_bytes.median);
				}
			// every skipped backend is listed with its reason
			for (const b of d.backends.filter((x) => (x.status || 'ok') !== 'ok')) {
				const li = await page.$$eval(`#run-${ri} ul.skipped li[data-backend="${b.backend}"]`, (es) => es.map((e) => e.textContent));
				cells++;
				check(`run ${ri} skipped ${b.backend} listed with its reason`, li.length === 1 && li[0].includes(b.reason), li.join('|'));
			}
		}
		if (docs.length > 1) {
			const keys = await page.evaluate(() => window.sttReport.fleet.key_metrics);
			for (let ri = 0; ri < docs.length; ri++)
				for (const k of keys)
				{
					const got = cell('', 'fleet', '', '', '', String(ri), k);
					const exp = fig(docs[ri], k);
					if (exp === undefined) { // a figure the run does not have: shown as '-'
						cells++;
						check(`fleet run ${ri} ${k} absent`, got === '', 'page ' + got);
					} else {
						same(`fleet run ${ri} ${k}`, got, exp);
					}
				}
		}
		// --compare: every metric of `stortune compare --json` (STT_COMPARE_JSON), its verdict
		// and change, regressions first
		if (process.env.STT_COMPARE_JSON) {
			const cmp = JSON.parse(fs.readFileSync(process.env.STT_COMPARE_JSON, 'utf8'));
			const rows = await page.$$eval('table.compare tbody tr', (es) => es.map((e) => ({
				name: e.getAttribute('data-metric'),
				verdict: e.children[1].textContent,
				change: e.querySelector('td[data-k="change"]').getAttribute('data-v'),
			})));
			check('compare: one row per metric', rows.length === cmp.metrics.length, rows.length + ' vs ' + cmp.metrics.length);
			const rank = { regression: 0, improvement: 1, 'within threshold': 2, 'no change': 3, inconclusive: 4, 'not gated': 5 };
			for (let i = 1; i < rows.length; i++)
				check('compare: regressions first', rank[rows[i - 1].verdict] <= rank[rows[i].verdict], rows[i - 1].verdict + ' before ' + rows[i].verdict);
			for (const m of cmp.metrics) {
				const r = rows.find((x) => x.name === m.name);
				cells++;
				check('compare ' + m.name, r && r.verdict === m.verdict &&
					(m.change === null ? r.change === '' : Number(r.change) === m.change),
				JSON.stringify(r) + ' vs ' + m.verdict + ' ' + m.change);
			}
		}
		console.log('tables: ' + cells + ' cells equal to the results files');

		fs.mkdirSync(path.dirname(path.resolve(shot)), { recursive: true });
		await page.screenshot({ path: shot, fullPage: true });
		// and the top of the page at the width of the README
		await page.screenshot({ path: shot.replace(/\.png$/, '') + '-top.png', fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 2200 } });
		console.log('screenshot: ' + shot);
	} finally {
		await ctx.close();
		fs.rmSync(udd, { recursive: true, force: true });
	}
	if (failures) {
		console.error(failures + ' check(s) failed');
		process.exit(1);
	}
	console.log('ok');
})().catch((e) => {
	console.error(e);
	process.exit(1);
});
