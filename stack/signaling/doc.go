// Package signaling is rtclab's signaling service: a WebSocket server
// speaking a small JSON protocol that puts named clients into rooms and
// relays SDP offers/answers and trickled ICE candidates between them.
//
// Protocol (one JSON object per WebSocket text message):
//
//	client -> server  {"type":"join","room":"r","name":"alice"}
//	server -> client  {"type":"joined","room":"r","name":"alice","peers":["sfu","bob"]}
//	server -> others  {"type":"peer-joined","room":"r","name":"alice"}
//	client -> server  {"type":"offer"|"answer","to":"bob","sdp":"v=0..."}
//	client -> server  {"type":"candidate","to":"bob","candidate":{...RTCIceCandidateInit...}}
//	server -> "to"    the same message with "from" set to the sender
//	client -> server  {"type":"leave"}   (or just close the socket)
//	server -> others  {"type":"peer-left","room":"r","name":"alice"}
//	server -> client  {"type":"error","error":"name \"alice\" is taken in room \"r\""}
//
// The same Server serves real TCP (http.Server) and, inside a virtual-time
// bubble where no real sockets may be used, a PipeListener whose
// connections are in-memory pipes.
package signaling
