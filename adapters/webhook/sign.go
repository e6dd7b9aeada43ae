package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Request headers set on every delivery.
const (
	HeaderEvent     = "X-Gatehouse-Event"
	HeaderDelivery  = "X-Gatehouse-Delivery"
	HeaderSignature = "X-Gatehouse-Signature"
)

// signaturePrefix names the algorithm in the signature header.
const signaturePrefix = "sha256="

// Sign returns the signature header value of body: "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret.
func Sign(secret, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, body))
}

// Verify reports whether header is the signature of body with secret, as
// Sign makes it. The comparison takes constant time.
func Verify(secret, body []byte, header string) bool {
	digest, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(digest)
	if err != nil {
		return false
	}
	return hmac.Equal(got, mac(secret, body))
}

func mac(secret, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(body) // a hash.Hash never fails to write
	return h.Sum(nil)
}
