package models

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenCipherRoundTripAndWrongKey(t *testing.T) {
	a, err := NewTokenCipher(strings.Repeat("a", 40))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewTokenCipher(strings.Repeat("b", 40))
	sealed, err := a.Seal("ACCESS_TOKEN_123")
	if err != nil || !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, "ACCESS_TOKEN") {
		t.Fatalf("sealed %q, %v", sealed, err)
	}
	again, _ := a.Seal("ACCESS_TOKEN_123")
	if again == sealed {
		t.Fatal("two seals of one token are equal: nonce reused")
	}
	if plain, err := a.Open(sealed); err != nil || plain != "ACCESS_TOKEN_123" {
		t.Fatalf("open: %q %v", plain, err)
	}
	if _, err := b.Open(sealed); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with another key: %v", err)
	}
	if plain, err := b.Open("legacy-plain"); err != nil || plain != "legacy-plain" {
		t.Fatalf("unsealed value: %q %v", plain, err)
	}
	if _, err := NewTokenCipher("short"); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestVerifyKeyRefusesAnotherKey(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := NewTokenCipher(strings.Repeat("a", 40))
	b, _ := NewTokenCipher(strings.Repeat("b", 40))
	if err := VerifyKey(ctx, db, a); err != nil {
		t.Fatalf("first key: %v", err)
	}
	if err := VerifyKey(ctx, db, a); err != nil {
		t.Fatalf("same key again: %v", err)
	}
	if err := VerifyKey(ctx, db, b); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("other key: %v", err)
	}
}
