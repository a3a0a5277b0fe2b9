// Package browser runs Chromium as a participant of an rtclab call: a
// headless Debian chromium started per participant with its own profile
// directory and fake camera and microphone (Y4M and WAV made from the
// committed clips), stopped by its process group's ID, driven over the
// Chrome DevTools Protocol with chromedp. It joins through rtclab's
// signaling server (stack/signaling) via a page embedded in the binary
// (page/call.html, page/call.js; no CDN) that plays the same
// offer/answer/trickle roles as the pion agents (stack/agent): p2p, or
// publishing to and subscribing from the embedded SFU (stack/sfu),
// answering its renegotiation offers; it rejoins a restarted SFU and
// restarts ICE (RestartICE, or on its own when a connection stays
// disconnected) as the agents do. Its
// getStats() (W3C webrtc-stats: inbound-rtp, outbound-rtp,
// remote-inbound-rtp, candidate-pair) is sampled every second into the
// run's probes.Recorder. Real time only.
package browser
