// rtclab's call page: joins a room of rtclab's signaling server
// (stack/signaling, message.go) and plays the roles rtclab's pion agents
// play (stack/agent). p2p: whoever is already in the room offers to the
// one who joins. sfu: the page offers its camera and microphone to the
// SFU and answers the SFU's offers, one more for every track a publisher
// adds (renegotiation). Candidates trickle. When the call breaks it
// recovers as the agents do (stack/agent rejoin.go): signaling reconnects
// with a backoff and rejoins; an SFU that came back gets a new offer; a
// connection that stays disconnected or failed restarts ICE (RFC 8445
// section 9). Everything it needs comes in the query string; the Go side
// (stack/browser) reads window.rtclab.
"use strict";
(function () {
  const q = new URLSearchParams(location.search);
  const room = q.get("room"), name = q.get("name");
  const iceServers = JSON.parse(q.get("ice") || "[]");
  const relayOnly = q.get("relay") === "1";
  const loopbackOnly = q.get("loopback") === "1";
  const sfuMode = q.get("topology") === "sfu";
  const sfuName = q.get("sfu") || "sfu";
  const pcs = new Map(); // remote name -> RTCPeerConnection
  const retired = [];    // the last stats of connections closed (an SFU that left)
  const events = [];     // [time ms, kind, detail], read by the Go side
  const gathered = [];   // every local candidate ICE gathered: "typ address"
  let local = null, ws = null;

  // The agents' recovery periods (stack/agent rejoin.go).
  const reconnectFirst = 250, reconnectMax = 2000, restartGrace = 2000, restartRetry = 5000;

  function event(kind, detail) {
    events.push([Date.now(), kind, detail]);
    document.getElementById("log").textContent += kind + " " + detail + "\n";
  }
  function status(s) { document.getElementById("status").textContent = s; }
  function send(m) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
  }

  // A host candidate on a real network address is not signalled when the
  // run allows only loopback: the test made no other network.
  function allowed(c) {
    if (!loopbackOnly || !c.candidate) return true;
    const f = c.candidate.split(" ");
    const addr = f[4], typ = f[7];
    return typ !== "host" || addr.startsWith("127.");
  }

  // restarter: this end restarts ICE on its own (always towards an SFU,
  // which never does; in p2p the end whose name sorts first).
  function restarter(remote) { return sfuMode || name < remote; }

  function conn(remote) {
    let pc = pcs.get(remote);
    if (pc) return pc;
    pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? "relay" : "all" });
    pc.rtclabFrom = new Map(); // mid -> publisher (the SFU names it in the stream ID)
    pcs.set(remote, pc);
    for (const t of local.getTracks()) pc.addTrack(t, local);
    pc.onicecandidate = (e) => {
      if (!e.candidate) return;
      const f = e.candidate.candidate.split(" ");
      if (f.length > 7) gathered.push(f[7] + " " + f[4]);
      if (!allowed(e.candidate)) return;
      send({ type: "candidate", to: remote, candidate: e.candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => {
      if (pcs.get(remote) !== pc) return; // retired
      event("connection-state", remote + ": " + pc.connectionState);
      watch(remote, pc);
    };
    pc.ontrack = (e) => {
      const from = sfuMode && e.streams.length > 0 ? e.streams[0].id : remote;
      if (e.transceiver && e.transceiver.mid !== null) pc.rtclabFrom.set(e.transceiver.mid, from);
      event("track", "receiving " + e.track.kind + " from " + from);
      if (e.track.kind !== "video") return;
      const v = document.createElement("video");
      v.autoplay = true; v.muted = true; v.playsInline = true;
      v.srcObject = new MediaStream([e.track]);
      document.getElementById("videos").appendChild(v);
    };
    return pc;
  }

  // watch restarts ICE when a connection stays disconnected or failed
  // for restartGrace, and again every restartRetry until it connects.
  function watch(remote, pc) {
    const st = pc.connectionState;
    if ((st !== "disconnected" && st !== "failed") || !restarter(remote) || pc.rtclabWatch) return;
    const check = () => {
      pc.rtclabWatch = null;
      if (pcs.get(remote) !== pc || pc.connectionState === "connected" || pc.connectionState === "closed") return;
      restart(remote).catch((err) => event("error", "ICE restart " + remote + ": " + err));
      pc.rtclabWatch = setTimeout(check, restartRetry);
    };
    pc.rtclabWatch = setTimeout(check, restartGrace);
  }

  async function offer(remote, iceRestart) {
    const pc = conn(remote);
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: !!iceRestart }));
    pc.rtclabRestart = !!iceRestart;
    send({ type: "offer", to: remote, sdp: pc.localDescription.sdp });
  }

  // restart sends remote an ICE-restart offer (new credentials), unless
  // an offer is outstanding: it is sent once that is answered.
  async function restart(remote) {
    const pc = pcs.get(remote);
    if (!pc) return;
    if (pc.signalingState !== "stable") { pc.rtclabRestartWanted = true; return; }
    event("ice-restart", remote);
    await offer(remote, true);
  }

  // retire closes the connection to remote, keeping its last stats for
  // the report (an SFU that left took its end with it).
  async function retire(remote) {
    const pc = pcs.get(remote);
    if (!pc) return;
    pcs.delete(remote);
    try { retired.push(await peerStats(remote, pc, "closed")); } catch (e) { /* closed meanwhile */ }
    if (pc.rtclabWatch) clearTimeout(pc.rtclabWatch);
    pc.close();
    event("connection-state", remote + ": closed"); // as the agents report it (the closed one's own events stopped)
    event("dropped", remote);
  }

  // peerThere handles a peer that joined or is found in the room on a
  // rejoin: an SFU gets a new connection and offer (the one we had went
  // with the old SFU); in p2p the one already there offers, unless the
  // two are still connected.
  async function peerThere(remote, rejoin) {
    if (sfuMode) {
      if (remote !== sfuName) return;
      const pc = pcs.get(remote);
      if (pc && rejoin && pc.connectionState === "connected") return; // signaling came back, media never left
      if (pc) await retire(remote);
      if (rejoin || pc || retired.some((r) => r.remote === remote)) event("republish", "offering to the SFU again");
      await offer(remote);
      return;
    }
    if (rejoin && pcs.has(remote)) return;
    await offer(remote);
  }

  async function handle(m) {
    switch (m.type) {
      case "joined": {
        const peers = m.peers || [];
        status("joined " + m.room + " as " + m.name); event("joined", peers.join(","));
        if (sfuMode && !peers.includes(sfuName)) { event("error", "no SFU " + sfuName + " in room " + room); break; }
        for (const p of peers) if (sfuMode ? p === sfuName : m.rejoin) await peerThere(p, m.rejoin);
        break;
      }
      case "peer-joined": event("peer-joined", m.name); if (!sfuMode || m.name === sfuName) await peerThere(m.name, false); break;
      case "peer-left": event("peer-left", m.name); if (sfuMode && m.name === sfuName) await retire(m.name); break;
      case "offer": {
        const pc = conn(m.from);
        let reoffer = false;
        if (pc.signalingState === "have-local-offer") {
          // Glare (RFC 8829 section 4.1.8.1), settled by perfect
          // negotiation: an SFU never yields, so we do; in p2p the end
          // that restarts ICE on its own keeps its offer.
          if (restarter(m.from) && !sfuMode) { event("glare", m.from + ": ignored its offer, ours is outstanding"); break; }
          reoffer = pc.rtclabRestart; // a restart the answer to theirs may not carry
          event("rollback", m.from + ": our offer rolled back for theirs");
        }
        // In have-local-offer this rolls our offer back first (JSEP
        // section 5.7, implicit rollback).
        await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
        await pc.setLocalDescription(await pc.createAnswer());
        pc.rtclabRestart = false;
        send({ type: "answer", to: m.from, sdp: pc.localDescription.sdp });
        if (reoffer || pc.rtclabRestartWanted) { pc.rtclabRestartWanted = false; await restart(m.from); }
        break;
      }
      case "answer": {
        const pc = pcs.get(m.from);
        if (!pc) break;
        await pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
        pc.rtclabRestart = false;
        if (pc.rtclabRestartWanted) { pc.rtclabRestartWanted = false; await restart(m.from); }
        break;
      }
      case "candidate": {
        const pc = pcs.get(m.from) || (sfuMode ? null : conn(m.from));
        if (pc) await pc.addIceCandidate(m.candidate);
        break;
      }
      case "error": event("error", m.error); break;
    }
  }

  // peerStats is one connection's getStats() entries of the kinds rtclab
  // samples; each inbound-rtp carries the publisher it comes from.
  async function peerStats(remote, pc, state) {
    const keep = new Set(["inbound-rtp", "outbound-rtp", "remote-inbound-rtp", "candidate-pair", "local-candidate", "remote-candidate", "transport"]);
    const from = new Map(); // inbound-rtp id -> publisher
    for (const t of pc.getTransceivers()) {
      const pub = t.mid !== null ? pc.rtclabFrom.get(t.mid) : undefined;
      if (!pub) continue;
      (await t.receiver.getStats()).forEach((s) => { if (s.type === "inbound-rtp") from.set(s.id, pub); });
    }
    const r = await pc.getStats();
    const entries = [];
    r.forEach((s) => {
      if (!keep.has(s.type)) return;
      entries.push(s.type === "inbound-rtp" ? Object.assign({}, s, { from: from.get(s.id) || remote }) : s);
    });
    return { remote, state: state || pc.connectionState, stats: entries };
  }

  // stats returns every connection's stats, the live ones first, then
  // those retired.
  async function stats() {
    const out = [];
    for (const [remote, pc] of pcs) out.push(await peerStats(remote, pc));
    return JSON.stringify(out.concat(retired));
  }

  // restartIce restarts ICE on every connection, as an application does
  // on a network change.
  function restartIce() {
    for (const remote of pcs.keys()) restart(remote).catch((err) => event("error", "ICE restart " + remote + ": " + err));
    return true;
  }

  // stopSending stops every connection's media at the call's end, as an
  // agent stops publishing then: what the page sends is all sent before
  // the final count (RTP stops; RTCP and retransmissions go on).
  async function stopSending() {
    for (const pc of pcs.values()) {
      for (const s of pc.getSenders()) if (s.track) await s.replaceTrack(null);
    }
    event("stopped-sending", "media stopped at the end of the call");
    return true;
  }

  window.rtclab = { events, stats, gathered, restartIce, stopSending, ready: false, failed: "" };

  // One message at a time, in order, as the agents' signaling loop does.
  let chain = Promise.resolve();
  function enqueue(m) {
    chain = chain.then(() => handle(m)).catch((err) => event("error", m.type + " from " + (m.from || "") + ": " + err));
  }

  function dial(attempt, wait) {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    const s = new WebSocket(url);
    let opened = false;
    s.onopen = () => {
      opened = true; ws = s;
      send({ type: "join", room, name });
      window.rtclab.ready = true;
    };
    s.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "joined" && attempt > 0) {
        m.rejoin = true;
        event("signaling-rejoined", "attempt " + attempt + ", peers " + (m.peers || []).join(","));
      }
      enqueue(m);
    };
    s.onclose = () => {
      if (opened) { event("signaling-lost", "closed"); attempt = 0; wait = reconnectFirst; }
      if (ws === s) ws = null;
      setTimeout(() => dial(attempt + 1, Math.min(2 * wait, reconnectMax)), wait);
    };
  }

  async function main() {
    try {
      local = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    } catch (e) {
      window.rtclab.failed = "getUserMedia: " + e;
      event("error", window.rtclab.failed);
      return;
    }
    dial(0, reconnectFirst);
  }
  main();
})();
