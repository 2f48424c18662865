// Driver of the viewer check (tests/io/test_viewer.sh): bundles page.mjs with esbuild, serves
// the page and the case folders on 127.0.0.1 (node http, an ephemeral port), opens each case
// in turn in one Debian headless Chromium driven over the DevTools protocol
// (--remote-debugging-pipe: no websocket, no port), waits for the page's verdict, saves a
// screenshot OUT_DIR/viewer_NAME.png and prints the verdict as one JSON line per case.
// Exit 0: every page's checks passed; 1: some failed; 2: a page or the browser could not run
// (message on stderr).
// Usage: node run.js OUT_DIR CASE_DIR... [--timeout S]   (S: per case, default 90)
//   CASE_DIR holds case.json (tests/io/viewer_truth.py) and the files it names.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { spawn } = require('child_process');

const args = process.argv.slice(2);
const ti = args.indexOf('--timeout');
const timeoutS = ti >= 0 ? Number(args.splice(ti, 2)[1]) : 90;
const [outDir, ...caseDirs] = args.map((a) => path.resolve(a));
if (!outDir || !caseDirs.length) {
  console.error('usage: node run.js OUT_DIR CASE_DIR... [--timeout S]');
  process.exit(2);
}
function die(msg) { console.error('viewer check: ' + msg); process.exit(2); }

// Node built-ins that the bundle names but never calls in a browser: the emscripten codecs
// require fs / path only under node; vtk.js's XML writer (xmlbuilder2) loads events / url at
// module load. Each gets an inert stand-in.
const SHIMS = {
  fs: 'module.exports = {};',
  path: 'module.exports = {};',
  url: 'module.exports = { domainToASCII: (d) => d, domainToUnicode: (d) => d };',
  events: 'class EventEmitter { on() { return this; } emit() { return false; } } module.exports = { EventEmitter };',
};
const nodeShims = {
  name: 'c2seg-node-shims',
  setup(b) {
    b.onResolve({ filter: /^(fs|path|events|url)$/ }, (a) => ({ path: a.path, namespace: 'c2seg-shim' }));
    b.onLoad({ filter: /.*/, namespace: 'c2seg-shim' }, (a) => ({ contents: SHIMS[a.path], loader: 'js' }));
  },
};

async function bundle(outDir) {
  const esbuild = require('esbuild');
  const common = {
    bundle: true, format: 'esm', platform: 'browser', target: 'es2020', logLevel: 'error',
    define: { 'process.env.NODE_ENV': '"production"' }, minify: true, sourcemap: false,
    plugins: [nodeShims],
  };
  const dil = path.dirname(require.resolve('@cornerstonejs/dicom-image-loader'));
  await esbuild.build({ ...common, entryPoints: [path.join(__dirname, 'page.mjs')], outfile: path.join(outDir, 'page.js') });
  // the decode worker: init.js starts it as new URL('./decodeImageFrameWorker.js', import.meta.url)
  await esbuild.build({ ...common, entryPoints: [path.join(dil, 'decodeImageFrameWorker.js')],
    outfile: path.join(outDir, 'decodeImageFrameWorker.js') });
}

const PAGE = '<!doctype html><meta charset="utf-8"><title>c2seg SEG in Cornerstone3D</title>' +
  '<body style="margin:0;background:#000;color:#ddd;font:12px monospace">' +
  '<div id="viewport" style="width:512px;height:512px"></div>' +
  '<pre id="verdict" style="white-space:pre-wrap;word-break:break-all;width:780px">running</pre>' +
  '<script type="module" src="page.js"></script></body>';

function serve(www, cases) {
  const types = { '.js': 'text/javascript', '.json': 'application/json', '.html': 'text/html', '.wasm': 'application/wasm' };
  const server = http.createServer((req, res) => {
    const u = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (u === '/' || u === '/index.html') { res.writeHead(200, { 'content-type': 'text/html' }); res.end(PAGE); return; }
    const m = u.match(/^\/cases\/(\d+)(\/.*)$/);
    const [root, rest] = m && cases[Number(m[1])] ? [cases[Number(m[1])], m[2]] : [www, u];
    const p = path.join(root, path.normalize(rest));
    if (p.startsWith(root + path.sep) && fs.existsSync(p) && fs.statSync(p).isFile()) {
      res.writeHead(200, { 'content-type': types[path.extname(p)] || 'application/octet-stream' });
      fs.createReadStream(p).pipe(res);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// The DevTools protocol over the pipe: fd 3 we write, fd 4 we read, NUL-separated JSON.
function cdp(proc) {
  let id = 0, buf = '';
  const waiting = new Map(), listeners = [];
  proc.stdio[4].on('data', (d) => {
    buf += d.toString('utf8');
    let z;
    while ((z = buf.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buf.slice(0, z));
      buf = buf.slice(z + 1);
      if (msg.id && waiting.has(msg.id)) {
        const { resolve, reject } = waiting.get(msg.id);
        waiting.delete(msg.id);
        if (msg.error) reject(new Error(JSON.stringify(msg.error))); else resolve(msg.result);
      } else listeners.forEach((f) => f(msg));
    }
  });
  return {
    send(method, params, sessionId) {
      const m = { id: ++id, method, params: params || {} };
      if (sessionId) m.sessionId = sessionId;
      proc.stdio[3].write(JSON.stringify(m) + '\0');
      return new Promise((resolve, reject) => waiting.set(m.id, { resolve, reject }));
    },
    on(f) { listeners.push(f); },
  };
}

async function main() {
  for (const d of caseDirs) if (!fs.existsSync(path.join(d, 'case.json'))) die(`${d}/case.json missing`);
  fs.mkdirSync(outDir, { recursive: true });
  const www = fs.mkdtempSync(path.join(caseDirs[0], '..', '.viewer-www-'));
  const t0 = Date.now();
  await bundle(www);
  const bundleMs = Date.now() - t0;
  const server = await serve(www, caseDirs);
  const root = `http://127.0.0.1:${server.address().port}/`;
  const chromium = process.env.CHROMIUM || 'chromium';
  const proc = spawn(chromium, [
    '--headless', '--no-sandbox', '--remote-debugging-pipe', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    '--disable-extensions', '--mute-audio', `--user-data-dir=${path.join(www, 'profile')}`,
    '--window-size=800,800', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  proc.stderr.on('data', () => {});
  proc.on('error', (e) => die(`cannot start ${chromium}: ${e.message}`));
  const log = [];
  let timer = null;
  const arm = (what) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      proc.kill('SIGKILL');
      die(`${what}: no verdict within ${timeoutS} s; the page's console:\n  ${log.slice(-20).join('\n  ')}`);
    }, timeoutS * 1000);
  };
  arm('Chromium start');
  const c = cdp(proc);
  c.on((m) => {
    if (m.method === 'Runtime.consoleAPICalled')
      log.push(`${m.params.type}: ${m.params.args.map((a) => a.value !== undefined ? a.value : a.description).join(' ')}`);
    if (m.method === 'Runtime.exceptionThrown') {
      // the page catches its own errors into its verdict: an uncaught one means no verdict comes
      const d = m.params.exceptionDetails;
      proc.kill('SIGKILL');
      die(`uncaught exception in the page: ${d.text} ${d.exception ? d.exception.description : ''}`);
    }
  });
  const { targetInfos } = await c.send('Target.getTargets');
  const page = targetInfos.find((t) => t.type === 'page');
  if (!page) die('no page target in Chromium');
  const { sessionId } = await c.send('Target.attachToTarget', { targetId: page.targetId, flatten: true });
  await c.send('Runtime.enable', {}, sessionId);
  await c.send('Page.enable', {}, sessionId);
  await c.send('Emulation.setDeviceMetricsOverride', { width: 800, height: 800, deviceScaleFactor: 1, mobile: false }, sessionId);
  let failed = 0;
  for (const [i, dir] of caseDirs.entries()) {
    const name = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8')).name;
    arm(name);
    log.length = 0;
    const t1 = Date.now();
    await c.send('Page.navigate', { url: `${root}?case=cases/${i}/` }, sessionId);
    let verdict = null;
    while (!verdict) {
      await new Promise((r) => setTimeout(r, 200));
      const r = await c.send('Runtime.evaluate', { expression: 'window.c2segVerdict ? JSON.stringify(window.c2segVerdict) : ""', returnByValue: true }, sessionId);
      if (r.result && r.result.value) verdict = JSON.parse(r.result.value);
    }
    const png = await c.send('Page.captureScreenshot', { format: 'png' }, sessionId);
    verdict.screenshot = path.join(outDir, `viewer_${name}.png`);
    fs.writeFileSync(verdict.screenshot, Buffer.from(png.data, 'base64'));
    verdict.bundleMs = bundleMs;
    verdict.pageMs = Date.now() - t1;
    if (!verdict.ok) { verdict.console = log.slice(-20); failed++; }
    console.log(JSON.stringify(verdict));
  }
  clearTimeout(timer);
  const exited = new Promise((r) => proc.once('exit', r));
  c.send('Browser.close').catch(() => {});
  const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(kill);
  server.close();
  fs.rmSync(www, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

main().catch((e) => die(e.stack || String(e)));
