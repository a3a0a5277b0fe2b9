// Package realpeer decides what a test does when a real peer it needs is
// not on the machine: a binary (coturn, tshark, ffmpeg, ip, nft, chromium)
// or a privilege (root for network namespaces). StartChromium starts the
// headless browser the page and test-peer tests drive, stopped by PID;
// subpackage loopns runs it, and the servers it talks to, in a
// loopback-only namespace of the test's own. By default the test is skipped;
// with RTCLAB_REQUIRE_PEERS=1 (which `make test` sets) it fails, so a
// missing peer cannot turn a CI run green by skipping.
package realpeer
