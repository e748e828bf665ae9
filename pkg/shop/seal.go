package shop

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
)

// replayInfo names what the key sealing a status token for replays is for.
const replayInfo = "jampay status token for Idempotency-Key replays\x00"

// sealToken seals a status token for replays of an Idempotency-Key:
// AES-256-GCM under a key derived with HKDF-SHA256 from the Idempotency-Key
// and the order id, the order id as associated data. Only a request
// holding the Idempotency-Key opens it: a copy of the table does not, and
// the token itself stays random, whatever the key.
func sealToken(idempotencyKey, orderID, token string) ([]byte, error) {
	aead, err := replayAEAD(idempotencyKey, orderID)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(token)+aead.Overhead())
	_, _ = rand.Read(nonce) // never fails since Go 1.24
	return aead.Seal(nonce, nonce, []byte(token), []byte(orderID)), nil
}

// openToken opens what sealToken sealed; false for any other key, order id
// or bytes.
func openToken(idempotencyKey, orderID string, sealed []byte) (string, bool) {
	aead, err := replayAEAD(idempotencyKey, orderID)
	if err != nil || len(sealed) < aead.NonceSize() {
		return "", false
	}
	n := aead.NonceSize()
	token, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(orderID))
	return string(token), err == nil
}

func replayAEAD(idempotencyKey, orderID string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, []byte(idempotencyKey), nil, replayInfo+orderID, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
