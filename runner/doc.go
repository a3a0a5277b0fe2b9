// Package runner runs a scenario (package scenarios) and measures it.
//
// The data flow reads: scenario language → runner → {stack, netem,
// probes} → analysis → reports. Run builds the emulated network (netem),
// starts the embedded stack (signaling, STUN/TURN, SFU) and the agents on
// it, applies the participants' link schedules, samples series every
// 100 ms of scenario time, and returns a reports.Report whose stream
// numbers come from the whole-call logs (truth.go): each receiver's
// arrival log and each sender's log of what reached the wire, computed in
// package analysis until the end of the scenario.
//
// Beyond packets, the runner measures what a viewer sees (media.go): the
// frames each receiver reassembled (frames shown, frame rate, freezes,
// time to first frame, keyframe waits), the simulcast layer the SFU
// forwards and its bandwidth estimate, an E-model MOS for audio, and what
// the SFU negotiated per track. With Options.Media set, MeasureQuality
// (quality.go) decodes the received video with ffmpeg after the run and
// compares it with the source clip frame by frame (PSNR, SSIM).
//
// A scenario's timeline faults (faults.go) restart the embedded servers
// (servers.go: each a crash, then a fresh instance on the same address),
// restart a client's ICE or rebind its NAT mappings while the call runs;
// after the call, analysis.Recover measures per stream how long each
// fault kept media away (recovery_ms, "recovered" events).
//
// The flows topology (flows_run.go, flows_report.go) runs the RFC 8867
// test cases: GCC media flows, CBR and TCP competitors, with RFC 8868
// logs.
//
// Run inside a testing/synctest bubble (ClockVirtual, hosted by
// bubble.Run) everything is in virtual time and one seed repeats exactly;
// ClockReal runs on the wall clock.
package runner
