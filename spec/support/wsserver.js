// A WebSocket server from Node's ws package, an independent peer for core.ws_connect's specs.
//   node wsserver.js [CERT KEY]
// It listens on 127.0.0.1 on a free port (TLS with CERT and KEY), prints {"port":N}, and
// then, as JSON lines, what each connection showed it: {"ev":"request","path":...,
// "authorization":...,"protocols":...}, {"ev":"msg","hex":...} for each message (and each
// message's bytes back, for /echo), {"ev":"pong"}, {"ev":"close","code":N,"reason":...}.
// The path says what it sends after the upgrade:
//   /echo       every message back as it came
//   /script     [1]"hello world" in three fragments, [2]"x", a ping, then a close 4001 "bye"
//   /big        one message of 2 MiB and 1 byte
//   /drop       [1]"last" then the TCP connection closed without a close frame
//   /count      nothing, and reads nothing for 300 ms; its messages are said as
//               {"ev":"msg","len":N}, not their bytes
// It chooses v5.channel.k8s.io when offered. It ends when its stdin does.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const WebSocket = require('ws');

const [cert, key] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const server = cert ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http.createServer();
const wss = new WebSocket.Server({
  server, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024,
  handleProtocols: (protocols) => (protocols.has('v5.channel.k8s.io') ? 'v5.channel.k8s.io' : false),
});

wss.on('connection', (ws, req) => {
  const path = req.url;
  say({ ev: 'request', path, authorization: req.headers.authorization || null,
    protocols: req.headers['sec-websocket-protocol'] || null });
  ws.on('message', (data) => {
    const b = Buffer.from(data);
    say(path === '/count' ? { ev: 'msg', len: b.length } : { ev: 'msg', hex: b.toString('hex') });
    if (path === '/echo') ws.send(b);
  });
  ws.on('pong', () => say({ ev: 'pong' }));
  ws.on('close', (code, reason) => say({ ev: 'close', code, reason: reason.toString() }));
  if (path === '/script') {
    const b = Buffer.from('\x01hello world', 'latin1');
    ws.send(b.subarray(0, 4), { fin: false });
    ws.send(b.subarray(4, 8), { fin: false });
    ws.send(b.subarray(8), { fin: true });
    ws.send(Buffer.from('\x02x', 'latin1'));
    ws.ping();
    setTimeout(() => ws.close(4001, 'bye'), 300);
  } else if (path === '/big') {
    ws.send(Buffer.concat([Buffer.from([1]), Buffer.alloc(2 * 1024 * 1024, 'y')]));
  } else if (path === '/count') {
    ws._socket.pause();
    setTimeout(() => ws._socket.resume(), 300);
  } else if (path === '/drop') {
    ws.send(Buffer.from('\x01last', 'latin1'), () => setTimeout(() => ws.terminate(), 100));
  }
});

server.listen(0, '127.0.0.1', () => say({ port: server.address().port }));
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
