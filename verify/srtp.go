package verify

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
	"net/netip"
	"strings"

	"github.com/pion/srtp/v3"
)

// With the DTLS key log rtclab writes next to the captures (NSS key log
// format), SRTP can be decrypted: the SRTP master keys are exported from
// the DTLS master secret (RFC 5764 section 4.2, RFC 5705), so a
// retransmission's original sequence number and a packet's padding become
// readable, and the counts that depend on them exact.

// readKeyLog reads CLIENT_RANDOM lines: client random -> master secret.
func readKeyLog(r io.Reader) map[string][]byte {
	out := map[string][]byte{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "CLIENT_RANDOM" {
			continue
		}
		cr, err1 := hex.DecodeString(f[1])
		ms, err2 := hex.DecodeString(f[2])
		if err1 == nil && err2 == nil && len(cr) == 32 && len(ms) == 48 {
			out[string(cr)] = ms
		}
	}
	return out
}

// flowKey names a UDP flow by its two ends, in either direction.
type flowKey struct{ a, b netip.AddrPort }

func flowOf(src, dst netip.AddrPort) flowKey {
	if src.Compare(dst) > 0 {
		src, dst = dst, src
	}
	return flowKey{src, dst}
}

// dtlsSession is what a capture shows of one DTLS handshake.
type dtlsSession struct {
	client       netip.AddrPort
	clientRandom []byte
	serverRandom []byte
	suite        uint16
	profile      uint16
}

// hello is a ClientHello (1) or ServerHello (2) of a DTLS 1.2 datagram.
type hello struct {
	typ     uint8
	random  []byte
	suite   uint16
	profile uint16
}

// parseHellos returns the hellos of a datagram of DTLS records (RFC 6347
// section 4.1 records, 4.2.2 handshake headers).
func parseHellos(p []byte) []hello {
	var out []hello
	for len(p) >= 13 {
		typ, n := p[0], int(binary.BigEndian.Uint16(p[11:]))
		if 13+n > len(p) {
			return out
		}
		body := p[13 : 13+n]
		p = p[13+n:]
		if typ != 22 {
			continue
		}
		for len(body) >= 12 {
			ht := body[0]
			fl := int(uint32(body[9])<<16 | uint32(body[10])<<8 | uint32(body[11]))
			if 12+fl > len(body) {
				break
			}
			msg := body[12 : 12+fl]
			body = body[12+fl:]
			if (ht != 1 && ht != 2) || len(msg) < 35 {
				continue
			}
			h := hello{typ: ht, random: append([]byte(nil), msg[2:34]...)}
			if ht == 2 {
				if i := 35 + int(msg[34]); i+2 <= len(msg) {
					h.suite = binary.BigEndian.Uint16(msg[i:])
				}
				h.profile, _ = useSRTP(msg)
			}
			out = append(out, h)
		}
	}
	return out
}

// prf is the TLS 1.2 PRF (RFC 5246 section 5) with the cipher suite's hash.
func prf(newHash func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	ls := append([]byte(label), seed...)
	var out []byte
	a := ls
	for len(out) < n {
		m := hmac.New(newHash, secret)
		m.Write(a)
		a = m.Sum(nil)
		m = hmac.New(newHash, secret)
		m.Write(a)
		m.Write(ls)
		out = m.Sum(out)
	}
	return out[:n]
}

// srtpContexts derives the two directions' SRTP contexts of a session:
// the keying material "EXTRACTOR-dtls_srtp" split as client key, server
// key, client salt, server salt (RFC 5764 section 4.2).
func (s *dtlsSession) srtpContexts(master []byte) (client, server *srtp.Context, ok bool) {
	prof := srtp.ProtectionProfile(s.profile)
	kl, err1 := prof.KeyLen()
	sl, err2 := prof.SaltLen()
	if err1 != nil || err2 != nil {
		return nil, nil, false
	}
	h := sha256.New
	if s.suite == 0xc02c || s.suite == 0xc030 { // the *_SHA384 suites
		h = sha512.New384
	}
	km := prf(h, master, "EXTRACTOR-dtls_srtp", append(append([]byte(nil), s.clientRandom...), s.serverRandom...), 2*(kl+sl))
	ck, sk, cs, ss := km[:kl], km[kl:2*kl], km[2*kl:2*kl+sl], km[2*kl+sl:]
	c, err := srtp.CreateContext(ck, cs, prof)
	if err != nil {
		return nil, nil, false
	}
	sv, err := srtp.CreateContext(sk, ss, prof)
	if err != nil {
		return nil, nil, false
	}
	return c, sv, true
}

// decrypt fills the payload fields of r from its decrypted packet: the
// payload without padding (RFC 3550 section 5.1: the last padding byte
// counts the padding) and, for a retransmission, the original sequence
// number (RFC 4588 section 4).
func (r *RTP) decrypt(ctx *srtp.Context, raw []byte) bool {
	dec, err := ctx.DecryptRTP(nil, raw, nil)
	if err != nil {
		return false
	}
	h := parseRTP(dec)
	if h == nil {
		return false
	}
	payload := dec[len(dec)-h.Body:]
	if r.Padding && len(payload) > 0 {
		pad := int(payload[len(payload)-1])
		if pad > len(payload) {
			return false
		}
		payload = payload[:len(payload)-pad]
	}
	r.Decrypted, r.Payload = true, len(payload)
	r.ZeroPayload = true
	for _, b := range payload {
		if b != 0 {
			r.ZeroPayload = false
			break
		}
	}
	if pt, ok := payloadTypes[r.PT]; ok && pt.rtx && len(payload) >= 2 {
		r.OSN = binary.BigEndian.Uint16(payload)
		r.Payload -= 2
	}
	return true
}
