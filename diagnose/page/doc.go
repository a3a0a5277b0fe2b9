// Package page is the browser test page of `rtclab serve` (issue #13):
// plain HTML, CSS and JavaScript embedded in the binary, no build step and
// nothing fetched from elsewhere, served at /t/{invite}. In the customer's
// browser it runs the diagnosis of `rtclab diagnose` against serve — TURN
// per transport, ICE paths to the test peer, RTT/jitter/loss over the
// echo channel, upload and download measured by their receivers, and
// optionally camera and microphone — builds the same result JSON
// (diagnose.Result, schema rtclab.diagnose/v1), has serve grade it
// (diagnose.GradePath) and posts it to the history as it goes.
package page
