-- The gateway's page at /: the login that trades the printed #token= (or a pasted token) for
-- the session cookie, then the containers the token may use. One self-contained document;
-- its script and style are allowed by their hashes in the Content-Security-Policy, so that
-- no other script can run in it.
local core = require "dockerpty.core"
local base64url = require "dockerpty.gateway.base64url"

local M = {}

local STYLE = [[
body { font: 15px/1.4 system-ui, sans-serif; max-width: 40em; margin: 3em auto; padding: 0 1em; }
input { font: inherit; width: 24em; } button { font: inherit; }
li { font-family: ui-monospace, monospace; }
]]

-- The token goes to POST /login in an Authorization header, never in a URL; the fragment is
-- taken out of the address bar before anything else.
local SCRIPT = [[
(function () {
  var out = document.getElementById('out'), form = document.getElementById('login');
  var list = document.getElementById('list'), logout = document.getElementById('logout');
  form.hidden = true; // shown when a token is wanted; without this script it posts as a form
  function show(text) { out.textContent = text; }
  function containers() {
    fetch('/api/containers', { credentials: 'same-origin' }).then(function (r) {
      if (r.status === 401) { form.hidden = false; logout.hidden = true; show('Not signed in: paste a token.'); return null; }
      if (!r.ok) { show('The gateway answered ' + r.status + '.'); return null; }
      return r.json();
    }).then(function (cs) {
      if (!cs) return;
      form.hidden = true; logout.hidden = false; list.textContent = '';
      show(cs.length ? 'Signed in. The containers this token may use:' : 'Signed in. This token may use no container.');
      cs.forEach(function (c) {
        var li = document.createElement('li');
        li.textContent = c.name + '  ' + c.image + '  ' + c.state + (c.tty ? '  tty' : '');
        list.appendChild(li);
      });
    });
  }
  function login(token) {
    fetch('/login', { method: 'POST', credentials: 'same-origin', headers: { Authorization: 'Bearer ' + token } })
      .then(function (r) {
        if (r.status === 204) containers(); else { form.hidden = false; show('That token was not accepted.'); }
      });
  }
  var m = location.hash.match(/^#token=(.+)$/);
  if (m) {
    history.replaceState(null, '', location.pathname + location.search);
    login(decodeURIComponent(m[1]));
  } else {
    containers();
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    login(document.getElementById('token').value.trim());
  });
  logout.addEventListener('click', function () {
    fetch('/logout', { method: 'POST', credentials: 'same-origin' }).then(function () { list.textContent = ''; containers(); });
  });
})();
]]

M.HTML = table.concat {
  '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
  '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
  "<title>dockerpty</title>\n<style>", STYLE, "</style>\n</head>\n<body>\n",
  "<h1>dockerpty</h1>\n<p id=\"out\">Signing in...</p>\n",
  '<form id="login" method="post" action="/login">',
  '<input id="token" name="token" type="password" autocomplete="off" placeholder="token">',
  ' <button>Sign in</button></form>\n<ul id="list"></ul>\n<button id="logout" hidden>Sign out</button>\n',
  "<script>", SCRIPT, "</script>\n</body>\n</html>\n",
}

-- CSP's 'sha256-...' source: the digest in base64, padded.
local function csp_hash(text)
  local bytes = core.sha256(text):gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)
  local b64 = base64url.encode(bytes):gsub("-", "+"):gsub("_", "/")
  return "'sha256-" .. b64 .. ("="):rep((4 - #b64 % 4) % 4) .. "'"
end

M.HEADERS = {
  ["Content-Type"] = "text/html; charset=utf-8",
  ["Content-Security-Policy"] = ("default-src 'self'; script-src %s; style-src %s; frame-ancestors 'none'; form-action 'self'")
    :format(csp_hash(SCRIPT), csp_hash(STYLE)),
  ["X-Frame-Options"] = "DENY",
  -- same-origin, not no-referrer: under no-referrer a browser's form post says Origin: null,
  -- which the origin check refuses; other sites still get no referrer
  ["Referrer-Policy"] = "same-origin",
  ["Cache-Control"] = "no-store",
}

return M
