package payloads

import (
	"crypto/rand"
	"encoding/hex"
)

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
