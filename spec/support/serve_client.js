// A client of dockerpty serve from Node's ws package, for spec/serve_spec.lua.
//   node serve_client.js URL STEPS_JSON [OPTIONS_JSON]
// It offers v5.channel.k8s.io (and what options.protocols adds), runs the steps in order and
// prints what it sees as JSON lines:
//   {"ev":"open","protocol":...} {"ev":"msg","ch":N,"data":"..."}
//   {"ev":"response","status":N,"body":"...","headers":{...}} (an answer other than 101)
//   {"ev":"expected","found":bool,"text":...} {"ev":"close","code":N,"reason":"..."} {"ev":"done"}
// Steps: {"send":[ch,"text"]}, {"resize":[w,h]}, {"eof":true} ([255][0]), {"expect":"text"}
//   (in channels 1 and 2 so far, waiting up to 20 s), {"sleep":ms}, {"close":code}, {"hold":true}
//   (stays open, for a kill).
// Options: headers, protocols (more subprotocol entries), origin, ca, cert, key (file names, for wss).
'use strict';
const WebSocket = require('ws');

const [url, stepsJson, optsJson] = process.argv.slice(2);
const parsed = JSON.parse(stepsJson || '[]');
const steps = Array.isArray(parsed) ? parsed : []; // Lua's encoder writes an empty list as {}
const opts = JSON.parse(optsJson || '{}');
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const read = (f) => (f ? require('fs').readFileSync(f) : undefined);

const ws = new WebSocket(url, ['v5.channel.k8s.io'].concat(opts.protocols || []), {
  headers: opts.headers || {}, origin: opts.origin, perMessageDeflate: false,
  ca: read(opts.ca), cert: read(opts.cert), key: read(opts.key),
});
let output = '';
let closed = false;
ws.on('unexpected-response', (req, res) => {
  let body = '';
  res.on('data', (d) => { body += d.toString('latin1'); });
  res.on('end', () => {
    say({ ev: 'response', status: res.statusCode, body, headers: res.headers });
    say({ ev: 'done' });
    process.exit(0);
  });
});
ws.on('error', (e) => say({ ev: 'error', message: e.message }));
ws.on('message', (data) => {
  const b = Buffer.from(data);
  const text = b.subarray(1).toString('latin1');
  if (b[0] === 1 || b[0] === 2) output += text;
  say({ ev: 'msg', ch: b[0], data: text });
});
ws.on('close', (code, reason) => {
  closed = true;
  say({ ev: 'close', code, reason: reason.toString() });
  say({ ev: 'done' });
  process.exit(0);
});
ws.on('open', async () => {
  say({ ev: 'open', protocol: ws.protocol });
  for (const s of steps) {
    if (closed) return;
    if (s.send) ws.send(Buffer.concat([Buffer.from([s.send[0]]), Buffer.from(s.send[1], 'latin1')]));
    if (s.resize) ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: s.resize[0], Height: s.resize[1] }))]));
    if (s.eof) ws.send(Buffer.from([255, 0]));
    if (s.expect !== undefined) {
      const deadline = Date.now() + 20000;
      while (!output.includes(s.expect) && Date.now() < deadline && !closed) await sleep(10);
      say({ ev: 'expected', found: output.includes(s.expect), text: s.expect });
    }
    if (s.sleep) await sleep(s.sleep);
    if (s.close) ws.close(s.close);
    if (s.hold) await new Promise(() => {});
  }
});
