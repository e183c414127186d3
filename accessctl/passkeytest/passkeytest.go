// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers the options a relying party sends to navigator.credentials
// .create() and .get() as a platform authenticator with user verification
// would, with ES256 keys it keeps, "none" attestation and discoverable
// credentials; and it can misbehave on request (another origin, another
// relying party id, a rewound counter, another user's handle) to play an
// attacker.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// Credential is a key the authenticator holds.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	Count      uint32
}

// Authenticator answers ceremonies from Origin.
type Authenticator struct {
	Origin      string
	Credentials []*Credential
	// AAGUID names the authenticator model.
	AAGUID [16]byte
}

// New returns an authenticator whose ceremonies come from origin.
func New(origin string) *Authenticator { return &Authenticator{Origin: origin} }

var b64 = base64.RawURLEncoding

// creationOptions is what it reads of navigator.credentials.create()'s
// options.
type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Exclude []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		Allow     []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

// Tamper changes what a ceremony's answer says, to play an attacker.
type Tamper struct {
	Origin     string // another origin in the client data
	RPID       string // sign for another relying party id
	Rewind     bool   // send a counter below the last one (a cloned key)
	UserHandle []byte // claim another user's handle
	Challenge  string // answer another challenge
	Credential *Credential
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

func authData(rpID string, flags byte, count uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, count)
	return append(out, attested...)
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// Create answers navigator.credentials.create(options) with a new
// discoverable credential: the JSON a browser's
// PublicKeyCredential.toJSON() gives.
func (a *Authenticator) Create(options []byte, t *Tamper) ([]byte, *Credential, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, nil, err
	}
	for _, ex := range o.PublicKey.Exclude {
		for _, c := range a.Credentials {
			if b64.EncodeToString(c.ID) == ex.ID {
				return nil, nil, errors.New("passkeytest: InvalidStateError: a credential excluded is here")
			}
		}
	}
	user, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("passkeytest: user id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	c := &Credential{ID: id, RPID: o.PublicKey.RP.ID, UserHandle: user, Key: key}
	origin, rpID, challenge := a.Origin, c.RPID, o.PublicKey.Challenge
	if t != nil {
		origin, rpID, challenge = or(t.Origin, origin), or(t.RPID, rpID), or(t.Challenge, challenge)
	}
	ecdh, err := key.PublicKey.ECDH()
	if err != nil {
		return nil, nil, err
	}
	raw := ecdh.Bytes() // 0x04 || x || y
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:]})
	if err != nil {
		return nil, nil, err
	}
	attested := append(append(append([]byte{}, a.AAGUID[:]...), byte(len(id)>>8), byte(len(id))), id...)
	attested = append(attested, cose...)
	ad := authData(rpID, flagUP|flagUV|flagBE|flagBS|flagAT, 0, attested)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		return nil, nil, err
	}
	cd := clientData("webauthn.create", challenge, origin)
	a.Credentials = append(a.Credentials, c)
	out, err := json.Marshal(map[string]any{"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(att),
			"transports": []string{"internal", "hybrid"}}})
	return out, c, err
}

// Get answers navigator.credentials.get(options) with a credential it
// holds for the relying party: one of allowCredentials when the options
// name some, else the first discoverable one (or t.Credential).
func (a *Authenticator) Get(options []byte, t *Tamper) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	var c *Credential
	if t != nil && t.Credential != nil {
		c = t.Credential
	}
	for _, x := range a.Credentials {
		if c != nil {
			break
		}
		if x.RPID != o.PublicKey.RPID {
			continue
		}
		if len(o.PublicKey.Allow) == 0 || slices.ContainsFunc(o.PublicKey.Allow, func(al struct {
			ID string `json:"id"`
		}) bool {
			return al.ID == b64.EncodeToString(x.ID)
		}) {
			c = x
		}
	}
	if c == nil {
		return nil, errors.New("passkeytest: NotAllowedError: no credential for this relying party")
	}
	origin, rpID, challenge, handle := a.Origin, c.RPID, o.PublicKey.Challenge, c.UserHandle
	c.Count++
	count := c.Count
	if t != nil {
		origin, rpID, challenge = or(t.Origin, origin), or(t.RPID, rpID), or(t.Challenge, challenge)
		if t.UserHandle != nil {
			handle = t.UserHandle
		}
		if t.Rewind {
			count = 1
		}
	}
	cd := clientData("webauthn.get", challenge, origin)
	ad := authData(rpID, flagUP|flagUV|flagBE|flagBS, count, nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(handle)}})
}

// Clone is a copy of the authenticator holding the same keys, with their
// counters as they are now: a cloned key.
func (a *Authenticator) Clone() *Authenticator {
	c := &Authenticator{Origin: a.Origin, AAGUID: a.AAGUID}
	for _, x := range a.Credentials {
		cp := *x
		c.Credentials = append(c.Credentials, &cp)
	}
	return c
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
