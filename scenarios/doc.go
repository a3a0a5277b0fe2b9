// Package scenarios is rtclab's scenario language and runner.
//
// A scenario is a YAML file (documented in the README) that declares the
// emulated network, the participants and what they publish, and the
// expectations that decide pass or fail. Load parses it strictly: every
// problem is reported with its file, line and field path, and what is
// allowed there. Run builds the network (netem), starts the embedded stack
// (signaling, STUN/TURN, SFU) and the agents on it, samples measurements
// every 100 ms of scenario time, and returns a reports.Report.
//
// Beyond packets, the runner measures what a viewer sees (media.go): the
// frames each receiver reassembled (frames shown, frame rate, freezes,
// time to first frame, keyframe waits), the simulcast layer the SFU
// forwards and its bandwidth estimate, an E-model MOS for audio, and what
// the SFU negotiated per track. With RunOptions.Media set, MeasureQuality
// (quality.go) decodes the received video with ffmpeg after the run and
// compares it with the source clip frame by frame (PSNR, SSIM).
//
// The built-in scenarios (*.yaml in this directory) are embedded in the
// binary; `rtclab run` with no argument runs "quickstart".
package scenarios
