package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrWrongKey means the database was written with another JIT_SECRET_KEY.
var ErrWrongKey = errors.New("models: the secret key does not match the one this database was written with")

// MinKeyLength is the shortest JIT_SECRET_KEY accepted.
const MinKeyLength = 32

// sealedPrefix marks an encrypted value; values without it are stored as
// they came (written before a key was set).
const sealedPrefix = "v1:"

// TokenCipher encrypts WeChat tokens at rest with AES-256-GCM. The AES key
// is derived from the operator's secret with HKDF-SHA256, so any long random
// string works as JIT_SECRET_KEY.
type TokenCipher struct {
	aead cipher.AEAD
}

// NewTokenCipher derives the cipher from a secret of at least MinKeyLength bytes.
func NewTokenCipher(secret string) (*TokenCipher, error) {
	if len(secret) < MinKeyLength {
		return nil, fmt.Errorf("models: the secret key must be at least %d characters", MinKeyLength)
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "jit token encryption v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &TokenCipher{aead: aead}, nil
}

// Seal encrypts a token; the empty string stays empty.
func (c *TokenCipher) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := c.aead.Seal(nonce, nonce, []byte(plain), nil)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Open decrypts what Seal made; a value without the prefix is returned as
// is. A value sealed under another key gives ErrWrongKey.
func (c *TokenCipher) Open(stored string) (string, error) {
	body, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(raw) < c.aead.NonceSize() {
		return "", fmt.Errorf("models: a sealed token is corrupt: %w", ErrWrongKey)
	}
	plain, err := c.aead.Open(nil, raw[:c.aead.NonceSize()], raw[c.aead.NonceSize():], nil)
	if err != nil {
		return "", ErrWrongKey
	}
	return string(plain), nil
}

// IsSealed reports whether a stored value was encrypted by a TokenCipher.
func IsSealed(stored string) bool { return strings.HasPrefix(stored, sealedPrefix) }

// ErrKeyMissing means the database holds encrypted tokens but no key was
// given to read them.
var ErrKeyMissing = errors.New("models: this database holds encrypted tokens; set the JIT_SECRET_KEY it was written with")

// RefuseWithoutKey fails when a key was ever recorded in the database: a
// replica started without the key would hand out sealed values as tokens
// and write new tokens in the clear.
func RefuseWithoutKey(ctx context.Context, db *gorm.DB) error {
	if !db.WithContext(ctx).Migrator().HasTable(&KeyCheck{}) {
		return nil
	}
	var n int64
	if err := db.WithContext(ctx).Model(&KeyCheck{}).Where("name = ?", keyCheckName).Count(&n).Error; err != nil {
		return fmt.Errorf("models: key check: %w", err)
	}
	if n > 0 {
		return ErrKeyMissing
	}
	return nil
}

// KeyCheck holds one value sealed under the database's key, so a replica
// started with a different key fails at startup instead of reading garbage.
type KeyCheck struct {
	Name      string `gorm:"primaryKey;size:64"`
	Sealed    string `gorm:"size:256;not null"`
	CreatedAt time.Time
}

// TableName pins the table name.
func (KeyCheck) TableName() string { return "jit_key_checks" }

const keyCheckName, keyCheckPlain = "token_cipher", "jit key check"

// VerifyKey records the key on first use and refuses a different one later.
func VerifyKey(ctx context.Context, db *gorm.DB, c *TokenCipher) error {
	if err := db.WithContext(ctx).AutoMigrate(&KeyCheck{}); err != nil {
		return fmt.Errorf("models: key check: %w", err)
	}
	sealed, err := c.Seal(keyCheckPlain)
	if err != nil {
		return err
	}
	// Concurrent first starts race here; DoNothing lets one win and every
	// replica then checks against the winner's row.
	row := KeyCheck{Name: keyCheckName, Sealed: sealed}
	if err := db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("models: key check: %w", err)
	}
	var stored KeyCheck
	if err := db.WithContext(ctx).Where("name = ?", keyCheckName).Take(&stored).Error; err != nil {
		return fmt.Errorf("models: key check: %w", err)
	}
	if plain, err := c.Open(stored.Sealed); err != nil || plain != keyCheckPlain {
		return ErrWrongKey
	}
	return nil
}
