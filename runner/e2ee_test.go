package runner

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/rtclab/rtclab/analysis"
	"github.com/rtclab/rtclab/reports"
	"github.com/rtclab/rtclab/scenarios"
)

// withKeys gives alice and bob of a built-in e2ee keys (scenario edits
// for privacyScenario).
func withKeys(alice, bob string) []string {
	return []string{
		"  - name: alice\n", "  - name: alice\n    e2ee: {key: \"" + alice + "\"}\n",
		"  - name: bob\n", "  - name: bob\n    e2ee: {key: \"" + bob + "\"}\n",
	}
}

// The same SFU call with and without e2ee: both deliver media with the
// same picture and sound (fps, freezes and MOS within noise), but only
// without e2ee could the SFU decode the keyframes it forwarded. In both
// runs the SFU's packets parse as keyframe starts (the clear header
// e2ee leaves): only the decode tells them apart, which is the case that
// breaks a check reading the clear bytes alone.
func TestE2EESFU(t *testing.T) {
	plain := runPrivacy(t, privacyScenario(t, "quickstart", ""))
	e2ee := runPrivacy(t, privacyScenario(t, "quickstart", "", withKeys("one key", "one key")...))
	for _, c := range []struct {
		name     string
		rep      *reports.Report
		readable bool
	}{{"plain", plain, true}, {"e2ee", e2ee, false}} {
		h, ok := privacyHop(c.rep, scenarios.SFUHost)
		if !ok || h.Keyframes == 0 || h.KeyframesTried == 0 {
			t.Fatalf("%s: SFU hop %+v: want keyframe starts and keyframes reassembled", c.name, h)
		}
		if h.Readable != c.readable || (h.KeyframesDecoded > 0) != c.readable {
			t.Errorf("%s: SFU hop %+v, want readable %v", c.name, h, c.readable)
		}
		if c.readable && h.KeyframesDecoded != h.KeyframesTried {
			t.Errorf("%s: %d of %d plaintext keyframes decoded to the sender's picture", c.name, h.KeyframesDecoded, h.KeyframesTried)
		}
	}
	for _, path := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
		p, e := stream(t, plain, path[0], path[1], "video"), stream(t, e2ee, path[0], path[1], "video")
		if e.Video.FramesShown < 200 || math.Abs(e.Video.FPS-p.Video.FPS) > 1.5 || e.Video.FreezeCount > p.Video.FreezeCount+3 {
			t.Errorf("%s->%s video: e2ee %d frames shown, %.1f fps, %d freezes; plain %.1f fps, %d freezes", path[0], path[1],
				e.Video.FramesShown, e.Video.FPS, e.Video.FreezeCount, p.Video.FPS, p.Video.FreezeCount)
		}
		pa, ea := stream(t, plain, path[0], path[1], "audio"), stream(t, e2ee, path[0], path[1], "audio")
		if math.Abs(ea.Audio.MOS-pa.Audio.MOS) > 0.1 {
			t.Errorf("%s->%s audio MOS %.2f with e2ee, %.2f without", path[0], path[1], ea.Audio.MOS, pa.Audio.MOS)
		}
	}
}

// With another key a participant receives every packet but shows no
// frame and hears nothing: the whole call is one freeze.
func TestE2EEWrongKey(t *testing.T) {
	rep := runPrivacy(t, privacyScenario(t, "quickstart", "", withKeys("alice's key", "not alice's key")...))
	v := stream(t, rep, "alice", "bob", "video")
	if v.PacketsReceived < 200 || v.Video.FramesReceived == 0 || v.Video.FramesShown != 0 || v.Video.FreezeCount != 1 || v.Video.FreezeMS < 7000 {
		t.Errorf("alice->bob video with the wrong key: %d packets, %d frames, %d shown, %d freezes (%.0f ms); want packets and frames, none shown, one freeze over the call",
			v.PacketsReceived, v.Video.FramesReceived, v.Video.FramesShown, v.Video.FreezeCount, v.Video.FreezeMS)
	}
	if a := stream(t, rep, "alice", "bob", "audio"); a.PacketsReceived < 200 || a.Audio.MOS > 1.5 || a.Audio.PacketsLost < a.PacketsReceived/2 {
		t.Errorf("alice->bob audio with the wrong key: %d packets received, %d heard as lost, MOS %.2f", a.PacketsReceived, a.Audio.PacketsLost, a.Audio.MOS)
	}
	if v.Video.KeyframeRequests != 0 {
		t.Errorf("%d keyframe requests: a keyframe would not open either", v.Video.KeyframeRequests)
	}
}

// Peer to peer through the TURN relay with e2ee: the picture gets
// through and the relay reads nothing (SRTP around SFrame).
func TestE2EERelayP2P(t *testing.T) {
	rep := runPrivacy(t, privacyScenario(t, "quickstart-p2p", "", withKeys("shared", "shared")...))
	for _, p := range rep.Participants {
		if p.SelectedPair == nil || p.SelectedPair.Local != "relay" && p.SelectedPair.Remote != "relay" {
			t.Errorf("%s: pair %+v, want the relay", p.Name, p.SelectedPair)
		}
	}
	for _, path := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
		if v := stream(t, rep, path[0], path[1], "video"); v.Video.FramesShown < 150 || v.Video.FPS < 25 {
			t.Errorf("%s->%s: %d frames shown, %.1f fps", path[0], path[1], v.Video.FramesShown, v.Video.FPS)
		}
	}
	if h, ok := privacyHop(rep, scenarios.TURNHost); !ok || h.VideoPackets < 100 || h.Readable || h.KeyframesDecoded != 0 {
		t.Errorf("TURN hop %+v: want 100+ video packets, nothing decoded", h)
	}
}

// The built-in e2ee-sfu passes its checks: the SFU switches alice's
// simulcast layers for bob on the clear keyframe header, bob sees and
// hears alice, eve (another key) gets nothing, and the SFU decoded none
// of the keyframes it forwarded.
func TestE2EEBuiltin(t *testing.T) {
	rep, err := runVirtual(t, mustLoad(t, "privacy/e2ee-sfu"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if c.Verdict != analysis.Pass {
			t.Errorf("check %s: %s (value %v)", c.Name, c.Verdict, c.Value)
		}
	}
	if v := stream(t, rep, "alice", "bob", "video"); len(v.Video.LayerSwitches) < 2 {
		t.Errorf("alice->bob layer switches %+v: want down and up", v.Video.LayerSwitches)
	}
	h, ok := privacyHop(rep, scenarios.SFUHost)
	if !ok || h.Readable || h.KeyframesTried == 0 || h.Keyframes == 0 {
		t.Errorf("SFU hop %+v: want keyframes forwarded and tried, none readable", h)
	}
}

// With e2ee the SFU still answers keyframe requests: keyframe-recovery's
// 2 s loss burst breaks bob's picture, his PLIs reach alice through the
// SFU, and the keyframe she sends (sealed, its header in clear) brings
// the picture back within the scenario's bounds.
func TestE2EEKeyframeRecovery(t *testing.T) {
	s := mustLoad(t, "keyframe-recovery")
	for i := range s.Participants {
		kid := uint64(i)
		s.Participants[i].E2EE = &scenarios.E2EE{Key: "one key", KeyID: &kid, Suite: 0x0004}
	}
	rep, err := runVirtual(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if c.Verdict != analysis.Pass {
			t.Errorf("check %s: %s (value %v)", c.Name, c.Verdict, c.Value)
		}
	}
	v := stream(t, rep, "alice", "bob", "video")
	if v.PLICount == 0 || v.Video.KeyframeLatencyMS == nil || v.Video.FramesShown < 400 {
		t.Errorf("alice->bob: %d PLIs, keyframe latency %v, %d frames shown", v.PLICount, v.Video.KeyframeLatencyMS, v.Video.FramesShown)
	}
	if h, ok := privacyHop(rep, scenarios.SFUHost); !ok || h.Readable {
		t.Errorf("SFU hop %+v: want not readable", h)
	}
}

// rotationYAML is alice publishing through the SFU to bob and eve, all
// with key schedules: alice and bob hold KID 1 and move to KID 2 at 4 s;
// eve holds the keys the test gives her.
const rotationYAML = `name: e2ee-rotation
topology: sfu
duration: 8s
participants:
  - name: alice
    publish: [audio, video]
    e2ee: {keys: [{kid: 1, key: "first"}, {kid: 2, key: "second", from: 4s}]}
  - name: bob
    e2ee: {keys: [{kid: 1, key: "first"}, {kid: 2, key: "second", from: 4s}]}
  - name: eve
    e2ee: {keys: [%s]}
`

// Key rotation (RFC 9605 section 4.4): alice moves from KID 1 to KID 2
// at 4 s. bob, who holds both keys, sees her throughout; eve, who holds
// only KID 1, sees her until 4 s and then a picture frozen to the end,
// though she receives the frames all the same; given KID 2 as well, eve
// sees her throughout.
func TestE2EEKeyRotation(t *testing.T) {
	const rotation = 4.0
	run := func(eve string) *reports.Report {
		s, err := scenarios.Parse("rotation.yaml", []byte(fmt.Sprintf(rotationYAML, eve)))
		if err != nil {
			t.Fatal(err)
		}
		return runPrivacy(t, s)
	}
	lacking := run(`{kid: 1, key: "first"}`)
	holding := run(`{kid: 1, key: "first"}, {kid: 2, key: "second", from: 4s}`)
	for _, c := range []struct {
		name string
		rep  *reports.Report
	}{{"eve lacks KID 2", lacking}, {"eve holds KID 2", holding}} {
		b := stream(t, c.rep, "alice", "bob", "video").Video
		e := stream(t, c.rep, "alice", "eve", "video").Video
		t.Logf("%s: bob %d of %d frames shown, freezes %+v; eve %d of %d shown, freezes %+v", c.name,
			b.FramesShown, b.FramesReceived, b.Freezes, e.FramesShown, e.FramesReceived, e.Freezes)
		for _, f := range b.Freezes {
			if f.DurationMS > 1000 {
				t.Errorf("%s: bob froze %+v: he holds both keys", c.name, f)
			}
		}
		if e.FramesReceived < 200 || b.FramesShown < 200 {
			t.Errorf("%s: eve received %d frames, bob showed %d", c.name, e.FramesReceived, b.FramesShown)
		}
		last := reports.FreezeInterval{}
		if n := len(e.Freezes); n > 0 {
			last = e.Freezes[n-1]
		}
		frozenAtRotation := last.StartS > rotation-0.2 && last.StartS <= rotation && last.StartS+last.DurationMS/1000 > 7.9
		if lacks := c.rep == lacking; frozenAtRotation != lacks {
			t.Errorf("%s: eve's last freeze %+v; want one from the rotation at %.0f s to the end: %v", c.name, last, rotation, lacks)
		}
		if c.rep == lacking && (e.FramesShown < 80 || e.FramesShown > int(rotation*31)) {
			t.Errorf("%s: eve showed %d frames: want those of the first %.0f s", c.name, e.FramesShown, rotation)
		}
	}
}

// e2ee with VP9 and H.264 through the SFU: alice's frames, sealed with
// their clear bytes (stack/agent/e2ee_codec.go), cross pion's
// packetizers and the SFU and open at bob, who sees her picture; with
// another key bob sees none, though the frames arrive.
func TestE2EECodecs(t *testing.T) {
	for _, codec := range []string{"vp9", "h264"} {
		for _, tc := range []struct {
			name   string
			bobKey string
			shown  bool
		}{{"same key", "one key", true}, {"another key", "a guess", false}} {
			t.Run(codec+" "+tc.name, func(t *testing.T) {
				edit := withKeys("one key", tc.bobKey)
				edit[1] = "  - name: alice\n    video: " + codec + "\n    codecs: [" + codec + "]\n    e2ee: {key: \"one key\"}\n"
				edit[3] = "  - name: bob\n    video: " + codec + "\n    codecs: [" + codec + "]\n    e2ee: {key: \"" + tc.bobKey + "\"}\n"
				rep := runPrivacy(t, privacyScenario(t, "quickstart", "", edit...))
				v := stream(t, rep, "alice", "bob", "video")
				t.Logf("alice->bob %s: %d packets, %d frames received, %d shown, %.1f fps, %d freezes", v.Codec, v.PacketsReceived,
					v.Video.FramesReceived, v.Video.FramesShown, v.Video.FPS, v.Video.FreezeCount)
				if !strings.EqualFold(v.Codec, "video/"+codec) || v.Video.FramesReceived < 200 {
					t.Fatalf("alice->bob codec %s, %d frames received", v.Codec, v.Video.FramesReceived)
				}
				if shown := v.Video.FramesShown >= 200 && v.Video.FPS >= 25; shown != tc.shown {
					t.Errorf("alice->bob: %d frames shown at %.1f fps; want a moving picture: %v", v.Video.FramesShown, v.Video.FPS, tc.shown)
				}
				if !tc.shown && v.Video.FramesShown != 0 {
					t.Errorf("alice->bob with another key: %d frames shown", v.Video.FramesShown)
				}
			})
		}
	}
}
