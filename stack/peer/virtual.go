package peer

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/pion/webrtc/v4"
)

// VirtualCertificate is the DTLS certificate of a PeerConnection in
// virtual time (Params.Virtual; stack/flow's PeerConnections too): an Ed25519 key (RFC 8422 section 5.1.3; its signatures
// are 64 bytes, RFC 8032 section 5.1.6) and a serial number of fixed
// length, so every DTLS flight has the same size in every run. pion's
// default, ECDSA P-256 with a random 130-bit serial, gives DER signatures
// of 70 to 72 bytes and serials of 16 or 17: measured, bob's second
// flight was 646 or 647 bytes and the SFU's 581 to 583 between runs with
// one seed, and over a 300 kbit/s link each byte is 27 µs, so the
// connection completed 0.03 ms apart and time_to_connect_ms differed.
// The key itself stays random.
func VirtualCertificate() (webrtc.Certificate, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("peer certificate key: %w", err)
	}
	// A serial in [2^118, 2^119): 15 bytes of DER, never a leading zero.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 118))
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("peer certificate serial: %w", err)
	}
	serial.SetBit(serial, 118, 1)
	now := time.Now()
	tpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "WebRTC"},
		Issuer:       pkix.Name{CommonName: "WebRTC"},
		NotBefore:    now.AddDate(0, 0, -1),
		NotAfter:     now.AddDate(0, 1, -1),
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, pub, key)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("peer certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("peer certificate: %w", err)
	}
	return webrtc.CertificateFromX509(key, cert), nil
}
