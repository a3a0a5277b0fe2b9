// rtclab's call page: joins a room of rtclab's signaling server
// (stack/signaling, message.go) and calls its peers as rtclab's pion
// agents do (stack/agent): p2p, whoever is already in the room offers to
// the one who joins; candidates trickle. Everything it needs comes in the
// query string; the Go side (stack/browser) reads window.rtclab.
"use strict";
(function () {
  const q = new URLSearchParams(location.search);
  const room = q.get("room"), name = q.get("name");
  const iceServers = JSON.parse(q.get("ice") || "[]");
  const relayOnly = q.get("relay") === "1";
  const loopbackOnly = q.get("loopback") === "1";
  const pcs = new Map(); // remote name -> RTCPeerConnection
  const events = [];     // [time ms, kind, detail], read by the Go side
  let local = null, ws = null;

  function event(kind, detail) {
    events.push([Date.now(), kind, detail]);
    document.getElementById("log").textContent += kind + " " + detail + "\n";
  }
  function status(s) { document.getElementById("status").textContent = s; }
  function send(m) { ws.send(JSON.stringify(m)); }

  // A host candidate on a real network address is not signalled when the
  // run allows only loopback: the test made no other network.
  function allowed(c) {
    if (!loopbackOnly || !c.candidate) return true;
    const f = c.candidate.split(" ");
    const addr = f[4], typ = f[7];
    return typ !== "host" || addr.startsWith("127.");
  }

  function conn(remote) {
    let pc = pcs.get(remote);
    if (pc) return pc;
    pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? "relay" : "all" });
    pcs.set(remote, pc);
    for (const t of local.getTracks()) pc.addTrack(t, local);
    pc.onicecandidate = (e) => {
      if (!e.candidate || !allowed(e.candidate)) return;
      send({ type: "candidate", to: remote, candidate: e.candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => event("connection-state", remote + ": " + pc.connectionState);
    pc.ontrack = (e) => {
      event("track", "receiving " + e.track.kind + " from " + remote);
      if (e.track.kind !== "video") return;
      const v = document.createElement("video");
      v.autoplay = true; v.muted = true; v.playsInline = true;
      v.srcObject = new MediaStream([e.track]);
      document.getElementById("videos").appendChild(v);
    };
    return pc;
  }

  async function offer(remote) {
    const pc = conn(remote);
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: "offer", to: remote, sdp: pc.localDescription.sdp });
  }

  async function handle(m) {
    switch (m.type) {
      case "joined": status("joined " + m.room + " as " + m.name); event("joined", (m.peers || []).join(",")); break;
      case "peer-joined": event("peer-joined", m.name); await offer(m.name); break;
      case "peer-left": event("peer-left", m.name); break;
      case "offer": {
        const pc = conn(m.from);
        await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
        await pc.setLocalDescription(await pc.createAnswer());
        send({ type: "answer", to: m.from, sdp: pc.localDescription.sdp });
        break;
      }
      case "answer": await conn(m.from).setRemoteDescription({ type: "answer", sdp: m.sdp }); break;
      case "candidate": await conn(m.from).addIceCandidate(m.candidate); break;
      case "error": event("error", m.error); break;
    }
  }

  // stats returns every PeerConnection's getStats() entries of the kinds
  // rtclab samples, with the selected pair's candidate types.
  async function stats() {
    const keep = new Set(["inbound-rtp", "outbound-rtp", "remote-inbound-rtp", "candidate-pair", "local-candidate", "remote-candidate", "transport"]);
    const out = [];
    for (const [remote, pc] of pcs) {
      const r = await pc.getStats();
      const entries = [];
      r.forEach((s) => { if (keep.has(s.type)) entries.push(s); });
      out.push({ remote, state: pc.connectionState, stats: entries });
    }
    return JSON.stringify(out);
  }

  window.rtclab = { events, stats, ready: false, failed: "" };

  async function main() {
    try {
      local = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    } catch (e) {
      window.rtclab.failed = "getUserMedia: " + e;
      event("error", window.rtclab.failed);
      return;
    }
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    ws = new WebSocket(url);
    ws.onopen = () => { send({ type: "join", room, name }); window.rtclab.ready = true; };
    ws.onclose = () => event("signaling-lost", "closed");
    // One message at a time, in order, as the agents' signaling loop does.
    let chain = Promise.resolve();
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      chain = chain.then(() => handle(m)).catch((err) => event("error", m.type + " from " + (m.from || "") + ": " + err));
    };
  }
  main();
})();
