package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ServerKey is a random key the replicas sharing a database share, made by
// the first one that asks, e.g. to sign cookies any replica must accept.
type ServerKey struct {
	Name string `gorm:"primaryKey;size:64"`
	Key  string `gorm:"size:64;not null"` // base64 of 32 random bytes
}

// TableName pins the table name.
func (ServerKey) TableName() string { return "jit_server_keys" }

// SharedKey returns the key called name, creating it on first use; every
// replica gets the same one.
func SharedKey(ctx context.Context, db *gorm.DB, name string) ([]byte, error) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails on supported platforms
	fresh := ServerKey{Name: name, Key: base64.StdEncoding.EncodeToString(raw)}
	if err := db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&fresh).Error; err != nil {
		return nil, fmt.Errorf("models: server key %s: %w", name, err)
	}
	var k ServerKey
	if err := db.WithContext(ctx).Where("name = ?", name).Take(&k).Error; err != nil {
		return nil, fmt.Errorf("models: server key %s: %w", name, err)
	}
	key, err := base64.StdEncoding.DecodeString(k.Key)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("models: server key %s is damaged", name)
	}
	return key, nil
}
