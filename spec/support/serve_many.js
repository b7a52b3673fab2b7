// Many sessions of dockerpty serve from one Node process, for spec/serve_spec.lua's faults.
//   node serve_many.js URL N TOKEN
// It opens N WebSocket connections to URL (v5.channel.k8s.io, the token as a Bearer) and
// prints JSON lines: {"ev":"open","n":N} once all are open (or {"ev":"failed","message":...}
// when one is refused), then {"ev":"closed","i":I,"code":N,"status":{...}|null,"ms":N}
// for each as it closes (ms counted from the line {"ev":"go"} it reads on stdin: the moment
// the spec broke something), and {"ev":"done"} when all are closed. It ends when its stdin does.
'use strict';
const WebSocket = require('ws');
const readline = require('readline');

const [url, count, token] = process.argv.slice(2);
const n = Number(count);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let opened = 0;
let closed = 0;
let since = Date.now();

for (let i = 0; i < n; i++) {
  const ws = new WebSocket(url, ['v5.channel.k8s.io'], {
    headers: { Authorization: 'Bearer ' + token }, perMessageDeflate: false,
  });
  let status = null;
  ws.on('unexpected-response', (req, res) => {
    say({ ev: 'failed', message: 'session ' + i + ': HTTP ' + res.statusCode });
    process.exit(1);
  });
  ws.on('error', (e) => { if (opened < n) say({ ev: 'failed', message: 'session ' + i + ': ' + e.message }); });
  ws.on('open', () => {
    opened += 1;
    if (opened === n) say({ ev: 'open', n });
  });
  ws.on('message', (data) => {
    const b = Buffer.from(data);
    if (b[0] === 3) status = JSON.parse(b.subarray(1).toString());
  });
  ws.on('close', (code) => {
    closed += 1;
    say({ ev: 'closed', i, code, status, ms: Date.now() - since });
    if (closed === n) {
      say({ ev: 'done' });
      process.exit(0);
    }
  });
}

readline.createInterface({ input: process.stdin }).on('line', () => {
  since = Date.now();
  say({ ev: 'go' });
}).on('close', () => process.exit(0)); // the spec is done with it, whatever is open
