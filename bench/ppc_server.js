// The process-per-connection design of ttyd, gotty and the remote-shell post's server, as a
// peer for the gateway scenario: each WebSocket connection spawns its own `docker exec -it`,
// which needs a terminal, so util-linux's `script` gives it a pty (as ttyd's forkpty does).
// It speaks the same v5.channel.k8s.io framing and URL as the gateway, so one client drives both.
//   node bench/ppc_server.js TOKEN   prints "listening ws://127.0.0.1:PORT"
'use strict';
const { spawn } = require('child_process');
const http = require('http');
const WebSocket = require('ws');

const token = process.argv[2];
const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
const wss = new WebSocket.Server({ noServer: true, perMessageDeflate: false, handleProtocols: () => 'v5.channel.k8s.io' });

server.on('upgrade', (req, sock, head) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const m = url.pathname.match(/^\/api\/exec\/([^/]+)$/);
  if (req.headers.authorization !== 'Bearer ' + token || !m) { sock.end('HTTP/1.1 401 Unauthorized\r\n\r\n'); return; }
  const quote = (s) => "'" + s.replace(/'/g, "'\\''") + "'";
  const cmd = ['docker', 'exec', '-it', decodeURIComponent(m[1]), ...url.searchParams.getAll('cmd')].map(quote).join(' ');
  wss.handleUpgrade(req, sock, head, (ws) => {
    // a process group of its own, so that the session's end reaches script and docker exec both
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    const end = (sig) => { try { process.kill(-child.pid, sig); } catch (e) { /* gone */ } };
    child.stdout.on('data', (d) => {
      ws.send(Buffer.concat([Buffer.from([1]), d]));
      // a slow client pauses the process's output, as ttyd's flow control does
      if (ws.bufferedAmount > 1 << 20) { child.stdout.pause(); setTimeout(function drain() { if (ws.bufferedAmount > 1 << 18) setTimeout(drain, 5); else child.stdout.resume(); }, 5); }
    });
    child.stdin.on('error', () => {});
    ws.on('message', (msg) => { if (msg[0] === 0) child.stdin.write(msg.subarray(1)); });
    ws.on('close', () => { end('SIGHUP'); setTimeout(() => end('SIGKILL'), 1000).unref(); });
    child.on('exit', (code) => {
      ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ metadata: {}, status: code === 0 ? 'Success' : 'Failure', exit_code: code }))]));
      ws.close(1000);
    });
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ws://127.0.0.1:${server.address().port}\n`);
});
