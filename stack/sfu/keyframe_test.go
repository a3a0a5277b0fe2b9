package sfu

import "testing"

func TestKeyframeStart(t *testing.T) {
	tests := []struct {
		name string
		mime string
		b    []byte
		want bool
	}{
		{"vp8 key start", "video/VP8", []byte{0x10, 0x00}, true},
		{"vp8 delta start", "video/VP8", []byte{0x10, 0x01}, false},
		{"vp8 continuation", "video/VP8", []byte{0x00, 0x00}, false},
		{"vp8 ext picture id 15 bit key", "video/VP8", []byte{0x90, 0x80, 0x81, 0x02, 0x00}, true},
		{"vp8 ext picture id 7 bit delta", "video/VP8", []byte{0x90, 0x80, 0x05, 0x01}, false},
		{"vp9 key", "video/VP9", []byte{0x08}, true},
		{"vp9 inter", "video/VP9", []byte{0x48}, false},
		{"vp9 not start", "video/VP9", []byte{0x04}, false},
		{"h264 idr", "video/H264", []byte{0x65}, true},
		{"h264 non-idr", "video/H264", []byte{0x41}, false},
		{"h264 stap-a with sps", "video/H264", []byte{0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68}, true},
		{"h264 fu-a idr start", "video/H264", []byte{0x7c, 0x85}, true},
		{"h264 fu-a idr middle", "video/H264", []byte{0x7c, 0x05}, false},
		{"av1 new sequence", "video/AV1", []byte{0x18}, true},
		{"av1 continuation", "video/AV1", []byte{0x98}, false},
		{"av1 plain", "video/AV1", []byte{0x10}, false},
		{"opus", "audio/opus", []byte{0xfc}, true},
	}
	for _, tt := range tests {
		if got := keyframeStart(tt.mime, tt.b); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
