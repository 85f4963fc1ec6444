package auths

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"

	"github.com/labstack/echo/v4"
)

// A browser binding cookie is a random token and its MAC under a key every
// replica shares (kept in the database): the server adopts only values it
// issued. Where a cookie can be planted (plain http, a sibling subdomain),
// an attacker could otherwise fix a victim's binding and log the victim
// into the attacker's account.

// WithBindingKey sets the key binding cookies are signed with; replicas
// must share it. Without one, a per-process random key is used.
func WithBindingKey(key []byte) ServerOption { return func(s *Server) { s.bindingKey = key } }

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

func (s *Server) bindingMAC(token string) string {
	m := hmac.New(sha256.New, s.bindingKey)
	m.Write([]byte("jit browser binding\x00" + token))
	return base32NoPad.EncodeToString(m.Sum(nil))[:tokenLen]
}

// newBinding issues a binding value: token, then its MAC.
func (s *Server) newBinding() string {
	t := newToken()
	return t + s.bindingMAC(t)
}

// issuedBinding reports whether v is a binding this server issued.
func (s *Server) issuedBinding(v string) bool {
	if len(v) != 2*tokenLen || !validToken(v, 2*tokenLen) {
		return false
	}
	return hmac.Equal([]byte(v[tokenLen:]), []byte(s.bindingMAC(v[:tokenLen])))
}

// binding is the request's binding cookie, when this server issued it.
func (s *Server) binding(c echo.Context) (string, bool) {
	ck, err := c.Cookie(s.cookieName(s.baseURL(c.Request()), BindingCookie))
	if err != nil || !s.issuedBinding(ck.Value) {
		return "", false
	}
	return ck.Value, true
}

// ensureBinding returns the browser's binding, issuing (and setting) a
// new one when it has none this server issued; fresh says it is new.
func (s *Server) ensureBinding(c echo.Context) (binding string, fresh bool) {
	if b, ok := s.binding(c); ok {
		return b, false
	}
	b := s.newBinding()
	c.SetCookie(s.cookie(s.baseURL(c.Request()), BindingCookie, b, 0))
	return b, true
}
