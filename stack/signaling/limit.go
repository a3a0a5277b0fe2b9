package signaling

// MaxMessage is the largest signaling message, in bytes, that the server
// and the client accept (WebSocket read limit, RFC 6455 section 10.4: an
// endpoint must protect itself against oversized frames; coder/websocket's
// default is 32 KiB).
//
// The largest message a room produces is the SFU's offer to one subscriber:
// one m-section (RFC 8866 section 5.14) per track it forwards, so its size
// grows with the room. The bound is derived from the room the scenario
// language allows, 50 participants publishing audio and video: an offer
// of 2 own + 98 forwarded m-sections. pion's m-section for a video track
// with every rtclab codec, RTX, feedback and header extensions measures
// about 1.8 KB, audio under 0.9 KB (TestMaxMessageFitsLargestRoom prints
// the measured sizes); 100 m-sections come to 119 KB of JSON. The
// limit allows 4x that, so a larger ICE candidate set or more codecs do
// not break a room, and still refuses a runaway message far below what
// would threaten memory.
const MaxMessage = 512 << 10

// MaxRoom is the number of participants MaxMessage is sized for; the
// scenario language allows no more.
const MaxRoom = 50

// relayOverhead is what the server adds to a relayed message (its "from"
// field) on top of what the sender wrote: a client accepts this much more
// than MaxMessage.
const relayOverhead = 1 << 10
