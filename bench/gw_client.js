// The gateway scenario's load client, on Node's ws: it speaks v5.channel.k8s.io (channel 0
// stdin, 1 stdout, 3 status) to doc/gateway.md's /api/exec/{container}?cmd=..&tty=1, ours or
// bench/ppc_server.js, and times on the client's side with process.hrtime.
//   node bench/gw_client.js keys BASE TOKEN CONTAINER N   -> "p50_ms p99_ms" (N bytes typed into cat)
//   node bench/gw_client.js out  BASE TOKEN CONTAINER BYTES  -> "bytes seconds" (head -c BYTES /dev/zero)
//   node bench/gw_client.js idle BASE TOKEN CONTAINER N   opens N sessions of cat, 32 at a time,
//     each answered once before it counts; prints "open N seconds", holds them until its stdin
//     ends, then closes them all and prints "closed"
'use strict';
const WebSocket = require('ws');

const [mode, base, token, container, nArg] = process.argv.slice(2);
const n = Number(nArg);
const now = () => Number(process.hrtime.bigint()) / 1e9;

function open(cmd) {
  const q = cmd.map((c) => 'cmd=' + encodeURIComponent(c)).join('&');
  const ws = new WebSocket(`${base}/api/exec/${encodeURIComponent(container)}?${q}&tty=1&width=80&height=24`,
    ['v5.channel.k8s.io'], { headers: { Authorization: 'Bearer ' + token }, perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  return ws;
}

function fail(what) {
  process.stderr.write(`gw_client: ${what}\n`);
  process.exit(1);
}

const stdin = (s) => Buffer.concat([Buffer.from([0]), Buffer.from(s)]);

// Resolves once the session's output (channel 1) holds want.
function session(cmd, want, timeout) {
  return new Promise((resolve, reject) => {
    const ws = open(cmd);
    let got = '';
    const timer = setTimeout(() => reject(new Error(`no answer in ${timeout} s; got ${JSON.stringify(got.slice(-100))}`)), timeout * 1000);
    ws.on('open', () => ws.send(stdin('ready\r')));
    const onMessage = (m) => {
      if (m[0] !== 1) return;
      got += m.subarray(1).toString('latin1');
      if (got.split(want).length > 2) { // the tty's echo and cat's copy
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(ws);
      }
    };
    ws.on('message', onMessage);
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
    ws.on('close', (code) => { clearTimeout(timer); reject(new Error(`closed with ${code} before it answered`)); });
  });
}

async function keys() {
  const ws = await session(['cat'], 'ready', 30);
  ws.removeAllListeners('close');
  const lat = [];
  let pending = null;
  ws.on('message', (m) => {
    if (m[0] === 1 && pending && m.subarray(1).includes(pending.ch)) {
      const p = pending;
      pending = null;
      p.resolve(now() - p.t0);
    }
  });
  for (let i = 0; i < n; i++) {
    const ch = String.fromCharCode(97 + (i % 26));
    // each line ended after 50 keys, not timed, so that the tty's line buffer stays small
    if (i > 0 && i % 50 === 0) { ws.send(stdin('\r')); await new Promise((r) => setTimeout(r, 20)); }
    lat.push(await new Promise((resolve, reject) => {
      pending = { ch: Buffer.from(ch), t0: now(), resolve };
      setTimeout(() => reject(new Error(`no echo for key ${i + 1}`)), 5000);
      ws.send(stdin(ch));
    }));
  }
  ws.close(1000);
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.max(0, Math.ceil((p / 100) * lat.length) - 1)] * 1000;
  console.log(`${pct(50).toFixed(4)} ${pct(99).toFixed(4)}`);
}

function out() {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const ws = open(['head', '-c', String(n), '/dev/zero']);
    let bytes = 0, t1 = null;
    ws.on('message', (m) => { if (m[0] === 1) { bytes += m.length - 1; if (bytes >= n && !t1) t1 = now(); } });
    ws.on('error', reject);
    ws.on('close', () => {
      if (bytes !== n) return reject(new Error(`${bytes} bytes arrived of ${n}`));
      console.log(`${bytes} ${((t1 || now()) - t0).toFixed(6)}`);
      resolve();
    });
  });
}

async function idle() {
  const socks = [];
  const t0 = now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      socks.push(await session(['cat'], 'ready', 120));
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, n) }, worker));
  console.log(`open ${socks.length} ${(now() - t0).toFixed(6)}`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    let left = socks.length;
    const done = () => { if (--left === 0) { console.log('closed'); process.exit(0); } };
    for (const ws of socks) { ws.removeAllListeners('close'); ws.on('close', done); ws.close(1000); }
    setTimeout(() => { console.log('closed'); process.exit(0); }, 20000);
  });
}

const modes = { keys, out, idle };
if (!modes[mode]) fail('usage: gw_client.js keys|out|idle BASE TOKEN CONTAINER N');
modes[mode]().catch((e) => fail(e.message || String(e)));
