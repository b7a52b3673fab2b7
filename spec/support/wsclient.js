// A WebSocket client from Node's ws package, an independent peer for the gateway's specs.
//   node wsclient.js URL STEPS_JSON [OPTIONS_JSON]
// It runs the steps in order and prints what it sees as JSON lines:
//   {"ev":"open","protocol":...} {"ev":"msg","ch":N,"data":"..."} {"ev":"pong"}
//   {"ev":"close","code":N,"reason":"..."} {"ev":"error","message":"..."}
//   {"ev":"response","status":N} (an answer other than 101) {"ev":"done"}
// Steps: {"send":[ch,"text"]}, {"frag":[ch,"text",parts]}, {"big":[ch,bytes]}, {"ping":"x"},
//   {"text":"..."} (a text message), {"bytes":[b,...]} (a binary message of those bytes),
//   {"empty":true} (a binary message of no bytes),
//   {"eof":true} (the [255][0] that ends stdin), {"expect":"text"} (in the output of channels 1 and 2 so far), {"sleep":ms},
//   {"pause":ms} (reads stop for that long), {"close":[code,"reason"]}, {"wait_close":ms}.
// Options: protocols, headers, ca, cert, key (file names), maxPayload, pings (print {"ev":"ping"}
//   for each ping the server sends).
// With URL "raw://HOST:PORT" the steps are {"write":"bytes"}, {"hex":"hex digits"} (those
// bytes), {"sleep":ms}, {"pause":true} (reads stop), {"flood":["hex digits",ms,n]} (n times, written again and again for ms, as fast as the socket
// takes them; it stops early once the peer takes nothing for half a second, and says
// {"ev":"blocked"}), {"halfclose":true} and {"reset":true} on a plain TCP socket, and it
// prints {"ev":"data","data":...,"hex":...} and {"ev":"end","ms":N}.
'use strict';
const fs = require('fs');
const net = require('net');
const WebSocket = require('ws');

const [url, stepsJson, optsJson] = process.argv.slice(2);
const steps = JSON.parse(stepsJson || '[]');
const opts = JSON.parse(optsJson || '{}');
const started = Date.now();
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (url.startsWith('raw://')) {
  const [host, port] = url.slice(6).split(':');
  const sock = net.connect(Number(port), host);
  sock.on('data', (d) => say({ ev: 'data', data: d.toString('latin1'), hex: d.toString('hex') }));
  sock.on('error', (e) => say({ ev: 'error', message: e.message }));
  sock.on('close', () => { say({ ev: 'end', ms: Date.now() - started }); process.exit(0); });
  sock.on('connect', async () => {
    for (const s of steps) {
      if (s.write !== undefined) sock.write(Buffer.from(s.write, 'latin1'));
      if (s.hex !== undefined) sock.write(Buffer.from(s.hex, 'hex'));
      if (s.sleep) await sleep(s.sleep);
      if (s.pause) sock.pause();
      if (s.flood) {
        const one = Buffer.from(s.flood[0], 'hex');
        const b = Buffer.concat(Array(s.flood[2] || 1).fill(one));
        const end = Date.now() + s.flood[1];
        while (Date.now() < end && !sock.destroyed) {
          if (sock.write(b)) continue;
          const drained = await Promise.race([new Promise((r) => sock.once('drain', () => r(true))),
            sleep(500).then(() => false)]);
          if (!drained) { say({ ev: 'blocked', ms: Date.now() - started }); break; }
        }
      }
      if (s.halfclose) sock.end();
      if (s.reset) sock.resetAndDestroy();
    }
  });
} else {
  const read = (f) => (f ? fs.readFileSync(f) : undefined);
  const ws = new WebSocket(url, opts.protocols || [], {
    headers: opts.headers || {}, ca: read(opts.ca), cert: read(opts.cert), key: read(opts.key),
    maxPayload: opts.maxPayload || 100 * 1024 * 1024, perMessageDeflate: false,
  });
  let output = '';
  let closed = false;
  let received = 0; // bytes of channel 1, said at the close
  ws.on('unexpected-response', (req, res) => { say({ ev: 'response', status: res.statusCode }); process.exit(0); });
  ws.on('error', (e) => say({ ev: 'error', message: e.message }));
  ws.on('pong', () => say({ ev: 'pong' }));
  if (opts.pings) ws.on('ping', () => say({ ev: 'ping' }));
  ws.on('message', (data) => {
    const b = Buffer.from(data);
    const text = b.subarray(1).toString('latin1');
    if (b[0] === 1) received += b.length - 1;
    if (b[0] === 1 || b[0] === 2) output += text;
    if (!opts.quiet || b[0] !== 1) say({ ev: 'msg', ch: b[0], data: text });
  });
  ws.on('close', (code, reason) => {
    closed = true;
    say({ ev: 'close', code, reason: reason.toString(), ms: Date.now() - started, received });
    say({ ev: 'done' });
    process.exit(0);
  });
  ws.on('open', async () => {
    say({ ev: 'open', protocol: ws.protocol });
    for (const s of steps) {
      if (closed) return;
      if (s.send) ws.send(Buffer.concat([Buffer.from([s.send[0]]), Buffer.from(s.send[1], 'latin1')]));
      if (s.frag) {
        const [ch, text, parts] = s.frag;
        const b = Buffer.concat([Buffer.from([ch]), Buffer.from(text, 'latin1')]);
        const size = Math.ceil(b.length / parts);
        for (let i = 0; i < b.length; i += size) {
          ws.send(b.subarray(i, i + size), { fin: i + size >= b.length });
        }
      }
      if (s.eof) ws.send(Buffer.from([255, 0]));
      if (s.text !== undefined) ws.send(s.text);
      if (s.bytes) ws.send(Buffer.from(s.bytes));
      if (s.empty) ws.send(Buffer.alloc(0));
      if (s.big) ws.send(Buffer.concat([Buffer.from([s.big[0]]), Buffer.alloc(s.big[1], 'x')]));
      if (s.ping !== undefined) ws.ping(s.ping);
      if (s.expect !== undefined) {
        const deadline = Date.now() + 20000;
        while (!output.includes(s.expect) && Date.now() < deadline && !closed) await sleep(10);
        say({ ev: 'expected', found: output.includes(s.expect), text: s.expect });
      }
      if (s.sleep) await sleep(s.sleep);
      if (s.pause) {
        ws._socket.pause();
        await sleep(s.pause);
        ws._socket.resume();
      }
      if (s.close) ws.close(s.close[0], s.close[1]);
      if (s.wait_close) { await sleep(s.wait_close); say({ ev: 'still_open' }); ws.terminate(); }
    }
  });
}
