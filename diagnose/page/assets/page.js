// rtclab's browser test page: the diagnosis of `rtclab diagnose`, run by
// the browser against `rtclab serve` (see docs/testpage.md). It builds the
// same result JSON (schema rtclab.diagnose/v1), posts it to the history as
// it goes (partial: true, then the final one), and has the server grade
// it with diagnose's own rules (POST /rtclab/v1/grade).
'use strict';

const INVITE_HEADER = 'X-Rtclab-Invite';
const token = decodeURIComponent((location.pathname.split('/t/')[1] || '').split('/')[0]);
const withMedia = new URLSearchParams(location.search).get('media') === '1';

// Durations, as rtclab diagnose's defaults: 3 s of probes every 20 ms, 2 s
// each way of bulk data.
const PING_MS = 3000, PING_EVERY_MS = 20, PROBE_BYTES = 160, LATE_MS = 1000;
const TRANSFER_MS = 2000, CHUNK = 16 * 1024, HIGH_WATER = 1 << 20, LOW_WATER = 256 * 1024;
const TURN_TIMEOUT_MS = 6000, GATHER_TIMEOUT_MS = 5000, CONNECT_TIMEOUT_MS = 10000, MEDIA_MS = 4000;

const STEPS = [
  ['config', 'Reaching the test server'],
  ['turn', 'Relay (TURN) over UDP, TCP and TLS'],
  ['paths', 'Connecting to the test peer'],
  ['quality', 'Round-trip time, jitter and loss'],
  ['upload', 'Upload speed'],
  ['download', 'Download speed'],
  ['media', 'Camera and microphone'],
  ['grade', 'Verdict'],
];
const PATH_ORDER = ['host', 'srflx', 'relay-udp', 'relay-tcp', 'relay-tls'];

const $ = id => document.getElementById(id);
const round = (v, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
const sleep = ms => new Promise(r => setTimeout(r, ms));
const withTimeout = (p, ms, value) => Promise.race([p, sleep(ms).then(() => value)]);

// The servers the invite names (serve puts them in data-servers; none:
// only this one). Each is measured in turn, with a result of its own, and
// serve ranks them at the end as rtclab diagnose --server A --server B does.
const SERVERS = (document.body.dataset.servers || '').split(/\s+/).filter(Boolean);
const BASES = SERVERS.length ? SERVERS.map(s => s === location.origin ? '' : s) : [''];

function newResult(base) {
  return {
    schema: 'rtclab.diagnose/v1',
    version: 'browser-page',
    started: new Date().toISOString(),
    duration_ms: 0,
    target: base || location.origin,
    verdict: {level: '', summary: 'The test is still running.'},
    findings: [],
    turn: [],
    paths: [],
    quality: [],
    metrics: [],
    local: {addresses: [], note: ''},
    skipped: [],
    partial: true,
    client: {kind: 'browser', user_agent: navigator.userAgent},
    browser: {candidates: {mdns: 0}},
  };
}
// result is the server being measured's; results all of them, in order.
let base = '', serverIndex = 0, result = newResult(''), t0 = performance.now();
const results = [];

// ---- progress -------------------------------------------------------------

function drawSteps() {
  const ol = $('steps');
  for (const [id, name] of STEPS) {
    if (id === 'media' && !withMedia) continue;
    const li = document.createElement('li');
    li.id = 'step-' + id;
    li.innerHTML = '<span class="name"></span><span class="state">waiting</span>';
    li.querySelector('.name').textContent = name;
    ol.appendChild(li);
  }
}

function step(id, state, words) {
  const li = $('step-' + id);
  if (!li) return;
  li.className = state;
  li.querySelector('.state').textContent = words;
  const visible = STEPS.filter(([s]) => s !== 'media' || withMedia).map(([s]) => s);
  const i = visible.indexOf(id);
  const done = state === 'running' ? i : i + 1;
  $('progress').value = Math.round(100 * (serverIndex + done / visible.length) / BASES.length);
  if (state === 'running') $('now').textContent = STEPS.find(([s]) => s === id)[1] + '…';
}

// ---- saving to the history ------------------------------------------------

// ids holds each result's id in the history; runID is the first one's,
// which the other servers' results join (one use of the invite).
const ids = new Map();
let runID = '', saving = Promise.resolve(), saveNote = '';

function save() {
  const res = result;
  res.duration_ms = Math.round(performance.now() - t0);
  const body = JSON.stringify(res);
  saving = saving.then(async () => {
    try {
      const id = ids.get(res) || '';
      let url = id ? '/api/v1/results/' + encodeURIComponent(id) : '/api/v1/results';
      if (!id && runID) url += '?run=' + encodeURIComponent(runID);
      const r = await fetch(url, {
        method: id ? 'PUT' : 'POST',
        headers: {'Content-Type': 'application/json', [INVITE_HEADER]: token},
        body,
      });
      if (!r.ok) {
        saveNote = 'The results could not be sent to the support team (' + r.status + ' ' + (await r.text()).trim() + ').';
        return;
      }
      if (!id) {
        const created = await r.json();
        ids.set(res, created.id || '');
        if (!runID) runID = created.run || created.id || '';
      }
      saveNote = runID ? 'Results sent to the support team (reference ' + runID.slice(0, 8) + ').' : '';
    } catch (e) {
      saveNote = 'The results could not be sent to the support team: ' + e.message;
    }
    $('saved').textContent = saveNote;
  });
  return saving;
}

// ---- ICE helpers ------------------------------------------------------------

function gathered(pc, ms) {
  return withTimeout(new Promise(resolve => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
  }), ms);
}

function transportOf(url) {
  if (url.startsWith('turns:')) return 'tls';
  return /transport=tcp/.test(url) ? 'tcp' : 'udp';
}

function turnServer(info, url) {
  return {urls: url, username: info.username, credential: info.password};
}

// turnAllocate gathers a relay candidate through one TURN URL only
// (iceTransportPolicy relay): the time to it is the allocation time.
async function turnAllocate(info, url) {
  const tr = transportOf(url);
  const res = {url, transport: tr, ok: false, ms: 0};
  const pc = new RTCPeerConnection({iceServers: [turnServer(info, url)], iceTransportPolicy: 'relay'});
  const errors = [];
  const start = performance.now();
  try {
    pc.createDataChannel('turn');
    const relay = new Promise(resolve => {
      pc.onicecandidate = e => {
        if (e.candidate && e.candidate.type === 'relay') resolve(e.candidate);
        if (!e.candidate) resolve(null);
      };
      pc.onicecandidateerror = e => errors.push(e.errorCode + (e.errorText ? ' ' + e.errorText : ''));
    });
    await pc.setLocalDescription(await pc.createOffer());
    const c = await withTimeout(relay, TURN_TIMEOUT_MS, null);
    res.ms = round(performance.now() - start, 1);
    if (c) {
      res.ok = true;
      res.relayed = c.address + ':' + c.port;
    } else {
      const codes = errors.join('; ');
      res.error = codes ? 'ICE candidate error ' + codes : 'no relay candidate within ' + TURN_TIMEOUT_MS / 1000 + ' s';
      // RFC 8656 error codes reach the page as they are (401 and 438 are
      // the credentials); 701 is the browser's own "could not reach it".
      if (/(^|; )(401|431|438|441)\b/.test(codes)) res.failure = 'auth';
      else if (tr === 'tls' && codes) res.failure = 'tls';
      else res.failure = 'timeout';
    }
  } catch (e) {
    res.failure = 'error';
    res.error = String(e && e.message || e);
  } finally {
    pc.close();
  }
  return res;
}

// ---- the test peer ------------------------------------------------------

// Busy is the test peer's 503 or 429: the server's state, with how long
// it asks us to wait (Retry-After, RFC 9110 section 10.2.3).
class Busy extends Error {
  constructor(msg, retryAfter) {
    super(msg);
    this.retryAfter = retryAfter;
  }
}
const BUSY_RETRY_MAX_S = 15;

// connectPath opens a call to the test peer with the given ICE
// configuration and the three data channels the peer serves.
async function connectPath(kind, config) {
  const res = {kind, ok: false, ms: 0};
  const pc = new RTCPeerConnection(config);
  const start = performance.now();
  const ch = {
    echo: pc.createDataChannel('echo', {ordered: false, maxRetransmits: 0}),
    sink: pc.createDataChannel('sink'),
    source: pc.createDataChannel('source'),
  };
  for (const c of Object.values(ch)) c.binaryType = 'arraybuffer';
  const cands = [];
  pc.addEventListener('icecandidate', e => e.candidate && cands.push(e.candidate));
  let answer = null;
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, GATHER_TIMEOUT_MS);
    answer = await signal(pc.localDescription);
    await pc.setRemoteDescription(answer);
    const open = Promise.all(Object.values(ch).map(c => new Promise((resolve, reject) => {
      if (c.readyState === 'open') return resolve();
      c.onopen = resolve;
      c.onclose = () => reject(new Error('the data channel closed'));
    })));
    const failed = new Promise((_, reject) => pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') reject(new Error('ICE failed'));
    }));
    const ok = await withTimeout(Promise.race([open.then(() => true), failed]), CONNECT_TIMEOUT_MS, false);
    if (!ok) throw new Error('no connection within ' + CONNECT_TIMEOUT_MS / 1000 + ' s');
    res.ok = true;
    res.ms = round(performance.now() - start, 1);
    const pair = await selectedPair(pc);
    if (pair) {
      res.local = pair.localAddr;
      res.remote = pair.remoteAddr;
      // A relayed local candidate: the media went through the one TURN
      // URL this call was given.
      const turn = (config.iceServers || []).find(s => /^turns?:/.test(s.urls));
      if (pair.local === 'relay' && turn) res.relay = turn.urls;
    }
    // Who terminated DTLS: the certificate the browser verified, and the
    // one the test peer's answer named (the server derives the statement).
    res.dtls_fingerprint = await remoteFingerprint(pc);
    res.peer_fingerprint = answerFingerprint(answer.sdp);
    return {res, pc, ch, cands, pair};
  } catch (e) {
    res.ms = round(performance.now() - start, 1);
    if (e instanceof Busy) res.server_busy = true;
    res.reason = e.message;
    pc.close();
    return {res, pc: null, ch: null, cands, pair: null, retryAfter: e instanceof Busy ? e.retryAfter : 0};
  }
}

async function signal(offer) {
  // The invite is this server's: another server would refuse it (403),
  // and has no business seeing it. Its calls there are uninvited ones.
  const headers = {'Content-Type': 'application/json'};
  if (!base) headers[INVITE_HEADER] = token;
  const r = await fetch(base + info.offer, {
    method: 'POST',
    headers,
    body: JSON.stringify({type: offer.type, sdp: offer.sdp}),
  });
  if (r.status === 503 || r.status === 429) {
    const after = r.headers.get('Retry-After');
    throw new Busy('signaling: test peer busy: ' + r.status + (after ? ' (retry after ' + after + ' s)' : ''), Number(after) || 0);
  }
  if (!r.ok) throw new Error('signaling: ' + r.status + ' ' + (await r.text()).trim());
  return r.json();
}

// selectedPair reads the transport's selected candidate pair from getStats.
async function selectedPair(pc) {
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach(s => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair) stats.forEach(s => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
  if (!pair) return null;
  const l = stats.get(pair.localCandidateId) || {}, r = stats.get(pair.remoteCandidateId) || {};
  const addr = c => (c.address || c.ip || '?') + ':' + c.port;
  return {
    stats: pair,
    local: l.candidateType, remote: r.candidateType,
    protocol: l.protocol, relayProtocol: l.relayProtocol || '',
    localAddr: addr(l) + ' ' + l.candidateType, remoteAddr: addr(r) + ' ' + r.candidateType,
  };
}

// remoteFingerprint is the fingerprint of the certificate the DTLS
// handshake verified (webrtc-stats RTCCertificateStats of the transport's
// remoteCertificateId), as "sha-256 AB:CD:...".
async function remoteFingerprint(pc) {
  const stats = await pc.getStats();
  let fp = '';
  stats.forEach(s => {
    if (s.type !== 'transport' || !s.remoteCertificateId) return;
    const c = stats.get(s.remoteCertificateId);
    if (c && c.fingerprint) fp = (c.fingerprintAlgorithm || 'sha-256').toLowerCase() + ' ' + c.fingerprint.toUpperCase();
  });
  return fp;
}

// answerFingerprint is the first sha-256 a=fingerprint of an SDP.
function answerFingerprint(sdp) {
  const m = /^a=fingerprint:sha-256 ([0-9A-Fa-f:]+)/m.exec(sdp || '');
  return m ? 'sha-256 ' + m[1].toUpperCase() : '';
}

// channelBytesSent is a data channel's bytesSent from getStats.
async function channelBytesSent(pc, dc) {
  const stats = await pc.getStats();
  let n = 0;
  stats.forEach(s => {
    if (s.type === 'data-channel' && s.label === dc.label) n = s.bytesSent || 0;
  });
  return n;
}

// ---- measurements ---------------------------------------------------------

// ping sends paced probes on the unreliable echo channel, as pathprobe.Ping.
async function ping(echo) {
  const run = (Math.random() * 2 ** 32) >>> 0;
  const sent = [], rtts = new Map();
  const start = performance.now();
  let sending = true, done;
  const finished = new Promise(r => { done = r; });
  echo.onmessage = e => {
    if (!(e.data instanceof ArrayBuffer) || e.data.byteLength < 8) return;
    const v = new DataView(e.data);
    if (v.getUint32(0) !== run) return;
    const seq = v.getUint32(4);
    if (seq >= sent.length || rtts.has(seq)) return;
    rtts.set(seq, performance.now() - sent[seq]);
    if (!sending && rtts.size === sent.length) done();
  };
  const buf = new ArrayBuffer(PROBE_BYTES), view = new DataView(buf);
  view.setUint32(0, run);
  const send = () => {
    view.setUint32(4, sent.length);
    sent.push(performance.now());
    echo.send(buf);
  };
  send();
  const tick = setInterval(send, PING_EVERY_MS);
  await sleep(PING_MS);
  clearInterval(tick);
  sending = false;
  if (rtts.size < sent.length) await withTimeout(finished, LATE_MS);
  echo.onmessage = null;
  return summarize(sent, rtts, start);
}

function summarize(sent, rtts, start) {
  const res = {sent: sent.length, received: rtts.size, loss_pct: 0, rtt_ms: 0, rtt_p95_ms: 0, jitter_ms: 0, samples: []};
  if (res.sent > 0) res.loss_pct = 100 * (res.sent - res.received) / res.sent;
  const all = [];
  let jitter = 0, prev = NaN;
  for (let seq = 0; seq < sent.length; seq++) {
    if (!rtts.has(seq)) continue;
    const ms = Math.round(rtts.get(seq) * 1000) / 1000;
    res.samples.push({at_ms: round(sent[seq] - start), rtt_ms: ms});
    all.push(ms);
    // RFC 3550 section 6.4.1: J += (|D| - J) / 16 over consecutive RTTs.
    if (!Number.isNaN(prev)) jitter += (Math.abs(ms - prev) - jitter) / 16;
    prev = ms;
  }
  res.jitter_ms = round(jitter);
  if (all.length) {
    all.sort((a, b) => a - b);
    const pct = p => all[Math.max(0, Math.min(Math.ceil(p / 100 * all.length) - 1, all.length - 1))];
    res.rtt_ms = round(pct(50));
    res.rtt_p95_ms = round(pct(95));
  }
  return res;
}

function rate(bytes, ms) {
  return ms > 0 ? round(bytes * 8 / ms / 1000) : 0;
}

// upload sends bulk data on the sink channel for TRANSFER_MS; the test
// peer counts what it received and reports "rx BYTES MS" every 100 ms.
async function upload(sink) {
  const res = {mbps: 0, bytes: 0, ms: 0, series: []};
  let lastBytes = 0, lastMs = 0;
  sink.onmessage = e => {
    const f = typeof e.data === 'string' ? e.data.trim().split(/\s+/) : [];
    if (f.length !== 3 || f[0] !== 'rx') return;
    const n = Number(f[1]), ms = Number(f[2]);
    if (!(ms > lastMs) || n < lastBytes) return;
    res.series.push({at_ms: ms, mbps: round((n - lastBytes) * 8 / (ms - lastMs) / 1000)});
    lastBytes = n;
    lastMs = ms;
  };
  sink.bufferedAmountLowThreshold = LOW_WATER;
  const chunk = new ArrayBuffer(CHUNK);
  const end = performance.now() + TRANSFER_MS;
  while (performance.now() < end) {
    while (sink.bufferedAmount < HIGH_WATER && performance.now() < end) sink.send(chunk);
    await withTimeout(new Promise(r => { sink.onbufferedamountlow = r; }), Math.max(0, end - performance.now()));
  }
  await sleep(250); // the last reports
  sink.onmessage = null;
  res.bytes = lastBytes;
  res.ms = lastMs;
  res.mbps = rate(lastBytes, lastMs);
  return res;
}

// download asks the source channel for TRANSFER_MS of data and counts
// what arrives until the peer's "end BYTES" marker.
async function download(source) {
  const res = {mbps: 0, bytes: 0, ms: 0, series: []};
  let first = 0, last = 0, binStart = 0, binBytes = 0, done;
  const finished = new Promise(r => { done = r; });
  const flush = now => {
    if (!binStart || now <= binStart) return;
    res.series.push({at_ms: round(now - first), mbps: rate(binBytes, now - binStart)});
    binStart = now;
    binBytes = 0;
  };
  source.onmessage = e => {
    const now = performance.now();
    if (typeof e.data === 'string') {
      if (e.data.startsWith('end ')) {
        flush(now);
        done(e.data);
      }
      return;
    }
    if (!first) first = binStart = now;
    last = now;
    res.bytes += e.data.byteLength;
    binBytes += e.data.byteLength;
    if (now - binStart >= 100) flush(now);
  };
  source.send('send ' + TRANSFER_MS);
  const marker = await withTimeout(finished, TRANSFER_MS + 2000, '');
  source.onmessage = null;
  res.ms = round(last - first);
  res.mbps = rate(res.bytes, res.ms);
  return {res, marker};
}

// media sends camera and microphone to the test peer for MEDIA_MS and
// reads the sender's statistics.
async function media() {
  const out = {duration_ms: 0, available_outgoing_kbps: 0};
  let stream = null, pc = null;
  try {
    stream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 480}});
    pc = new RTCPeerConnection({iceServers: iceServers(true)});
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, GATHER_TIMEOUT_MS);
    await pc.setRemoteDescription(await signal(pc.localDescription));
    const up = await withTimeout(new Promise(resolve => {
      if (pc.connectionState === 'connected') return resolve(true);
      pc.addEventListener('connectionstatechange', () => pc.connectionState === 'connected' && resolve(true));
    }), CONNECT_TIMEOUT_MS, false);
    if (!up) throw new Error('no connection to the test peer within ' + CONNECT_TIMEOUT_MS / 1000 + ' s');
    const before = await pc.getStats();
    const start = performance.now();
    await sleep(MEDIA_MS);
    const after = await pc.getStats();
    out.duration_ms = round(performance.now() - start, 1);
    after.forEach(s => {
      if (s.type !== 'outbound-rtp') return;
      const b = before.get(s.id) || {bytesSent: 0};
      const st = {kbps: round((s.bytesSent - b.bytesSent) * 8 / out.duration_ms, 1), packets_sent: s.packetsSent || 0,
        remote_loss_pct: 0, remote_jitter_ms: 0, rtt_ms: 0};
      if (s.kind === 'video') {
        st.fps = s.framesPerSecond || 0;
        if (s.frameWidth) st.resolution = s.frameWidth + 'x' + s.frameHeight;
        st.quality_limitation = s.qualityLimitationReason || '';
      }
      after.forEach(r => {
        if (r.type !== 'remote-inbound-rtp' || r.localId !== s.id) return;
        st.remote_loss_pct = round(100 * (r.fractionLost || 0), 2);
        st.remote_jitter_ms = round(1000 * (r.jitter || 0), 2);
        st.rtt_ms = round(1000 * (r.roundTripTime || 0), 2);
      });
      out[s.kind] = st;
    });
    const pair = await selectedPair(pc);
    if (pair && pair.stats.availableOutgoingBitrate) out.available_outgoing_kbps = round(pair.stats.availableOutgoingBitrate / 1000, 1);
  } catch (e) {
    out.error = e instanceof Busy ? e.message : String(e && e.message || e);
  } finally {
    if (pc) pc.close();
    if (stream) stream.getTracks().forEach(t => t.stop());
  }
  return out;
}

// ---- local addresses --------------------------------------------------------

function scope(ip) {
  const p = ip.split('.').map(Number);
  if (p.length !== 4) return ip.startsWith('fe80:') ? 'link-local' : ip === '::1' ? 'loopback' : /^f[cd]/.test(ip) ? 'private' : 'public';
  if (p[0] === 127) return 'loopback';
  if (p[0] === 169 && p[1] === 254) return 'link-local';
  if (p[0] === 100 && p[1] >= 64 && p[1] < 128) return 'shared';
  if (p[0] === 10 || (p[0] === 172 && p[1] >= 16 && p[1] < 32) || (p[0] === 192 && p[1] === 168)) return 'private';
  return 'public';
}

function learnLocal(cands) {
  const c = result.browser.candidates, seen = new Set();
  for (const cand of cands) {
    const addr = (cand.address || '').replace(/^\[(.*)\]$/, '$1');
    if (!addr || seen.has(cand.type + addr)) continue;
    seen.add(cand.type + addr);
    if (cand.type === 'host') {
      if (addr.endsWith('.local')) { c.mdns++; continue; }
      (c.host = c.host || []).push(addr);
      const sc = scope(addr);
      result.local.addresses.push({ip: addr, interface: '', scope: sc, private: sc !== 'public'});
    } else if (cand.type === 'srflx') {
      (c.srflx = c.srflx || []).push(addr + ':' + cand.port);
      if (!result.local.mapped) result.local.mapped = addr + ':' + cand.port;
    }
  }
}

// ---- the run ----------------------------------------------------------------

let info = null;

function iceServers(withTURN) {
  const s = [{urls: info.stun}];
  if (withTURN) for (const u of info.turn) if (transportOf(u) !== 'tls' || tlsUsable) s.push(turnServer(info, u));
  return s;
}
let tlsUsable = true;

async function run() {
  drawSteps();
  drawServers();
  $('media-note').hidden = !withMedia;
  document.body.dataset.state = 'running';
  for (serverIndex = 0; serverIndex < BASES.length; serverIndex++) {
    base = BASES[serverIndex];
    result = newResult(base);
    results.push(result);
    window.rtclabResult = result;
    t0 = performance.now();
    tlsUsable = true;
    resetSteps();
    serverState('running', 'measuring');
    try {
      await runServer();
      const [cls, words] = SERVER_WORDS[result.verdict.level] || SERVER_WORDS.info;
      serverState(cls, words);
    } catch (e) {
      // One server that cannot be measured does not stop the others.
      if (BASES.length === 1) throw e;
      result.skipped.push('the page stopped: ' + e.message);
      serverState('bad', 'stopped: ' + e.message);
      await save();
    }
  }
  await saving;
  if (BASES.length > 1) await rank();
  show();
}

// runServer measures one server (base) into result, grades and saves it.
async function runServer() {
  step('config', 'running', 'running');
  const r = await fetch(base + '/rtclab/v1/config', {cache: 'no-store'});
  if (!r.ok) throw new Error('the test server did not answer (' + r.status + ')');
  info = await r.json();
  step('config', 'ok', 'reached');
  await save();

  // TURN: one allocation per URL, at once.
  step('turn', 'running', 'running');
  const turns = await Promise.all(info.turn.map(u => turnAllocate(info, u)));
  for (const t of turns) {
    if (t.transport === 'tls' && !t.ok && info.tls_cert_pem) {
      // The server's own self-signed certificate: browsers refuse it
      // (ICE error 701) whatever the network, so it says nothing here.
      tlsUsable = false;
      result.skipped.push('TURN over TLS: not tested in the browser: the server uses a self-signed certificate, which browsers refuse (ICE error 701) on any network; rtclab diagnose tests TLS, or start rtclab serve with a certificate browsers trust (--cert and --key)');
      continue;
    }
    result.turn.push(t);
  }
  const okTurn = result.turn.filter(t => t.ok).map(t => t.transport);
  step('turn', okTurn.length ? (okTurn.length === result.turn.length ? 'ok' : 'warn') : 'bad',
    okTurn.length ? 'works over ' + okTurn.join(', ').toUpperCase() : 'no relay');
  await save();

  // Paths: one call per kind of path, at once.
  step('paths', 'running', 'running');
  const configs = [
    ['host', {iceServers: []}],
    ['srflx', {iceServers: [{urls: info.stun}]}],
  ];
  for (const tr of ['udp', 'tcp', 'tls']) {
    const t = result.turn.find(x => x.transport === tr);
    if (t && t.ok) configs.push(['relay-' + tr, {iceServers: [turnServer(info, t.url)], iceTransportPolicy: 'relay'}]);
    else if (t) result.paths.push({kind: 'relay-' + tr, ok: false, ms: 0, reason: 'the TURN allocation over ' + tr.toUpperCase() + ' failed'});
  }
  let conns = await Promise.all(configs.map(([kind, cfg]) => connectPath(kind, cfg)));
  if (!conns.some(c => c.res.ok) && conns.some(c => c.res.server_busy)) {
    // Nothing connected and the server was busy: wait as it asks (at most
    // BUSY_RETRY_MAX_S) and try the refused kinds once more.
    const wait = Math.min(BUSY_RETRY_MAX_S, Math.max(1, ...conns.map(c => c.retryAfter || 0)));
    step('paths', 'server', 'the test server is busy; trying again in ' + wait + ' s');
    await sleep(wait * 1000);
    step('paths', 'running', 'trying again');
    conns = await Promise.all(configs.map(([kind, cfg], i) =>
      conns[i].res.server_busy ? connectPath(kind, cfg) : Promise.resolve(conns[i])));
  }
  for (const c of conns) result.paths.push(c.res);
  result.paths.sort((a, b) => PATH_ORDER.indexOf(a.kind) - PATH_ORDER.indexOf(b.kind));
  const srflxConn = conns.find(c => c.res.kind === 'srflx');
  learnLocal(srflxConn ? srflxConn.cands : []);
  let best = null;
  for (const kind of PATH_ORDER) {
    best = conns.find(c => c.res.kind === kind && c.res.ok);
    if (best) break;
  }
  for (const c of conns) if (c !== best && c.pc) c.pc.close();
  const busy = result.paths.filter(p => p.server_busy).length;
  if (best) {
    result.best_path = best.res.kind;
    if (best.pair) {
      result.browser.pair = {local: best.pair.local, remote: best.pair.remote, protocol: best.pair.protocol,
        relay_protocol: best.pair.relayProtocol, rtt_ms: round(1000 * (best.pair.stats.currentRoundTripTime || 0), 2)};
    }
    step('paths', 'ok', 'connected (' + best.res.kind + ')');
  } else if (busy) {
    step('paths', 'server', 'the test server is busy');
  } else {
    step('paths', 'bad', 'no connection');
  }
  await save();

  if (best) {
    step('quality', 'running', 'running');
    const p = await ping(best.ch.echo);
    result.quality.push({path: best.res.kind, ping: p, audio: {r: 0, mos: 0, level: 'info'}});
    step('quality', p.loss_pct > 3 ? 'warn' : 'ok', 'RTT ' + p.rtt_ms.toFixed(0) + ' ms, jitter ' + p.jitter_ms.toFixed(1) + ' ms, loss ' + p.loss_pct.toFixed(1) + ' %');
    await save();

    step('upload', 'running', 'running');
    const up = await upload(best.ch.sink);
    result.browser.up_sent_bytes = await channelBytesSent(best.pc, best.ch.sink);
    result.bandwidth = {path: best.res.kind, up, down: {mbps: 0, bytes: 0, ms: 0, series: []}, window_cap_kbps: 0};
    step('upload', up.bytes ? 'ok' : 'bad', up.mbps.toFixed(1) + ' Mbit/s');
    await save();

    step('download', 'running', 'running');
    const {res: down, marker} = await download(best.ch.source);
    result.bandwidth.down = down;
    if (marker) result.browser.down_sent_bytes = Number(marker.split(' ')[1]) || 0;
    if (!marker) result.skipped.push('download: the end marker did not come within ' + (TRANSFER_MS + 2000) / 1000 + ' s; counted what arrived');
    step('download', down.bytes ? 'ok' : 'bad', down.mbps.toFixed(1) + ' Mbit/s');
    best.pc.close();
    await save();
  } else {
    for (const s of ['quality', 'upload', 'download']) step(s, busy ? 'server' : 'bad', 'not measured');
    result.skipped.push('RTT, jitter, loss and bandwidth: no path to the test peer connected');
  }

  if (withMedia) {
    step('media', 'running', 'running');
    const m = await media();
    result.browser.media = m;
    const v = m.video;
    step('media', m.error ? 'warn' : 'ok', m.error ? m.error : v ? 'video ' + v.kbps.toFixed(0) + ' kbit/s' + (v.resolution ? ' at ' + v.resolution : '') : 'sent');
    await save();
  }

  step('grade', 'running', 'running');
  result.partial = false;
  result.duration_ms = Math.round(performance.now() - t0);
  const g = await fetch('/rtclab/v1/grade', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(result)});
  if (!g.ok) throw new Error('grading: ' + g.status + ' ' + (await g.text()).trim());
  Object.assign(result, await g.json());
  result.partial = false;
  const [cls, words] = SERVER_WORDS[result.verdict.level] || SERVER_WORDS.info;
  step('grade', cls, words);
  await save();
}

// ---- several servers ------------------------------------------------------

const SERVER_WORDS = {good: ['ok', 'good'], warn: ['warn', 'works, with caveats'], bad: ['bad', 'problems'], info: ['server', 'incomplete']};

function drawServers() {
  if (BASES.length < 2) return;
  const ol = $('servers');
  BASES.forEach((b, i) => {
    const li = document.createElement('li');
    li.id = 'server-' + i;
    li.innerHTML = '<span class="name"></span><span class="state">waiting</span>';
    li.querySelector('.name').textContent = b || location.origin;
    ol.appendChild(li);
  });
  ol.hidden = false;
  $('server-now').hidden = false;
}

function serverState(cls, words) {
  const li = $('server-' + serverIndex);
  if (!li) return;
  li.className = cls;
  li.querySelector('.state').textContent = words;
  $('server-now').textContent = 'Server ' + (serverIndex + 1) + ' of ' + BASES.length + ': ' + (base || location.origin);
}

function resetSteps() {
  for (const li of $('steps').children) {
    li.className = '';
    li.querySelector('.state').textContent = 'waiting';
  }
}

// rank has serve grade and rank the servers' results by rtclab diagnose's
// rule (POST /rtclab/v1/rank) and shows its table in its words.
async function rank() {
  $('now').textContent = 'Ranking the servers…';
  const r = await fetch('/rtclab/v1/rank', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({results})});
  if (!r.ok) throw new Error('ranking: ' + r.status + ' ' + (await r.text()).trim());
  const ranked = await r.json();
  window.rtclabRanking = ranked;
  $('ranking-title').textContent = ranked.title;
  $('ranking-note').textContent = ranked.note;
  const [head, ...rows] = ranked.table;
  const tr = document.createElement('tr');
  for (const h of head) tr.appendChild(Object.assign(document.createElement('th'), {textContent: h}));
  $('ranking').querySelector('thead').appendChild(tr);
  for (const row of rows) {
    const tr = document.createElement('tr');
    row.forEach((c, j) => {
      const td = Object.assign(document.createElement('td'), {textContent: c});
      if (j > 3) td.className = 'num';
      tr.appendChild(td);
    });
    $('ranking').querySelector('tbody').appendChild(tr);
  }
  $('ranked').hidden = false;
  // The details below are the best server's.
  const best = results.find(x => x.target === ranked.servers[0].server);
  if (best) result = best;
}

// The verdict band in house.css's words and colours.
const LEVELS = {
  good: ['GOOD', 'pass', 'Your network is ready for calls'],
  warn: ['WARN', 'warn', 'Your network can carry calls'],
  bad: ['BAD', 'fail', 'Your network will cause problems in calls'],
  info: ['?', 'info', 'The test could not finish'],
};

function show() {
  const v = result.verdict;
  const [word, cls, title] = LEVELS[v.level] || LEVELS.info;
  $('verdict').className = 'verdict ' + cls;
  $('verdict-word').textContent = word;
  $('verdict-title').textContent = title;
  $('verdict-summary').textContent = v.summary;
  const ul = $('findings');
  for (const f of result.findings || []) {
    if (f.level === 'info' && f.area !== 'server') continue;
    const li = document.createElement('li');
    li.innerHTML = '<span class="badge"></span><span class="text"></span>';
    li.querySelector('.badge').classList.add(f.level);
    li.querySelector('.badge').textContent = f.level;
    li.querySelector('.text').textContent = f.text;
    if (f.fix) {
      const fix = document.createElement('span');
      fix.className = 'fix';
      fix.textContent = f.fix;
      li.appendChild(fix);
    }
    ul.appendChild(li);
  }
  $('result').hidden = false;
  const rows = [];
  for (const t of result.turn) rows.push(['TURN over ' + t.transport.toUpperCase(), t.ok ? 'relay in ' + t.ms.toFixed(0) + ' ms' : 'failed: ' + t.error]);
  for (const s of result.skipped) if (s.startsWith('TURN over TLS')) rows.push(['TURN over TLS', 'not tested (self-signed certificate)']);
  if (result.best_path) rows.push(['Connection to the test server', result.best_path + (result.browser.pair ? ' (' + result.browser.pair.protocol + ')' : '')]);
  for (const q of result.quality) {
    rows.push(['Round-trip time', q.ping.rtt_ms.toFixed(1) + ' ms (95th percentile ' + q.ping.rtt_p95_ms.toFixed(1) + ' ms)']);
    rows.push(['Jitter / loss', q.ping.jitter_ms.toFixed(1) + ' ms / ' + q.ping.loss_pct.toFixed(1) + ' % of ' + q.ping.sent + ' probes']);
  }
  if (result.bandwidth) {
    rows.push(['Upload (measured by the server)', result.bandwidth.up.mbps.toFixed(1) + ' Mbit/s']);
    rows.push(['Download (measured by this browser)', result.bandwidth.down.mbps.toFixed(1) + ' Mbit/s']);
  }
  const m = result.browser.media;
  if (m && !m.error && m.video) {
    rows.push(['Camera sent', m.video.kbps.toFixed(0) + ' kbit/s, ' + (m.video.resolution || '?') + ', limited by ' + (m.video.quality_limitation || 'none') +
      (m.video.rtt_ms ? ', RTT ' + m.video.rtt_ms.toFixed(1) + ' ms (RTCP)' : '')]);
  }
  const media = {'end-to-end': 'end-to-end encrypted: relayed, cannot read it', terminated: 'terminated there: can read it (as an SFU can)', unknown: 'not known'};
  for (const e of result.encryption || []) {
    rows.push(['Media through ' + (e.role === 'relay' ? 'the relay ' + e.server : 'the ' + e.server) + ' (' + e.path + ')', media[e.media] || e.media]);
  }
  const c = result.browser.candidates;
  rows.push(['Local addresses shown', (c.host || []).length ? c.host.join(', ') : 'none (' + c.mdns + ' hidden behind mDNS names)']);
  if (result.client.observed_address) rows.push(['Public address (as the test server saw it)', result.client.observed_address]);
  if (result.local.mapped) rows.push(['Public address (STUN)', result.local.mapped]);
  rows.push(['Browser', navigator.userAgent]);
  const tb = $('measured').querySelector('tbody');
  for (const [k, v2] of rows) {
    const tr = document.createElement('tr');
    tr.innerHTML = '<th></th><td></td>';
    tr.children[0].textContent = k;
    tr.children[1].textContent = v2;
    tb.appendChild(tr);
  }
  $('details').hidden = false;
  $('progress').value = 100;
  const total = results.reduce((n, x) => n + x.duration_ms, 0);
  $('now').textContent = 'Done in ' + (total / 1000).toFixed(0) + ' s' + (BASES.length > 1 ? ' (' + BASES.length + ' servers; details of the best: ' + result.target + ').' : '.');
  document.body.dataset.state = 'done';
}

window.rtclabResult = result;
window.rtclabResults = results;
run().catch(async e => {
  $('now').textContent = 'The test stopped: ' + e.message;
  $('now').classList.add('bad');
  result.skipped.push('the page stopped: ' + e.message);
  await save();
  document.body.dataset.state = 'error';
});
