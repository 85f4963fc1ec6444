package services

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of what WeChat sends back, as it is stored (the columns of package
// models, on SQLite and PostgreSQL alike). PostgreSQL refuses a NUL byte,
// invalid UTF-8 and a value longer than its column where SQLite takes
// anything, so values are cleaned here, the same way for both: a user must
// never be locked out by their profile on one database only.
const (
	// MaxIDLen bounds openid and unionid (wechat_public_auth's size 64
	// keys). WeChat's are 28 characters of [A-Za-z0-9_-].
	MaxIDLen = 64
	// MaxNicknameRunes bounds a nickname (jit_users.nickname is size 191;
	// wechat_public_auth.nickname gets the same cut).
	MaxNicknameRunes = 191
	// MaxAvatarURLBytes bounds an avatar URL (size 1024 columns).
	MaxAvatarURLBytes = 1024
	// MaxPlaceRunes bounds province, city and country (size 64).
	MaxPlaceRunes = 64

	// maxTokenLen bounds access and refresh tokens so that, sealed by
	// models.TokenCipher ("v1:" + base64 of nonce, token and tag), they
	// still fit their size 512 columns. WeChat's are about 100 characters.
	maxTokenLen = 352
	// maxScopeLen is the scope column's size.
	maxScopeLen = 64
)

// validKey reports whether s can be a WeChat id or token: non-empty, at most
// maxLen bytes, printable ASCII without spaces. Such values are keys (or
// credentials): a garbage one is refused, never cut.
func validKey(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// checkToken refuses a token response whose values could not be stored or
// used: ids and tokens must be printable ASCII of bounded length. The error
// says which field, never its value (it is untrusted and may be huge).
func checkToken(endpoint string, tok *AccessToken) error {
	var bad []string
	if !validKey(tok.OpenID, MaxIDLen) {
		bad = append(bad, fmt.Sprintf("openid (%d bytes)", len(tok.OpenID)))
	}
	if tok.UnionID != "" && !validKey(tok.UnionID, MaxIDLen) {
		bad = append(bad, fmt.Sprintf("unionid (%d bytes)", len(tok.UnionID)))
	}
	if !validKey(tok.AccessToken, maxTokenLen) {
		bad = append(bad, fmt.Sprintf("access_token (%d bytes)", len(tok.AccessToken)))
	}
	if tok.RefreshToken != "" && !validKey(tok.RefreshToken, maxTokenLen) {
		bad = append(bad, fmt.Sprintf("refresh_token (%d bytes)", len(tok.RefreshToken)))
	}
	if len(tok.Scope) > maxScopeLen || tok.Scope != "" && !validKey(strings.ReplaceAll(tok.Scope, " ", ""), maxScopeLen) {
		bad = append(bad, fmt.Sprintf("scope (%d bytes)", len(tok.Scope)))
	}
	if len(bad) == 0 {
		return nil
	}
	return &UpstreamError{Endpoint: endpoint, Status: http.StatusOK,
		Err: fmt.Errorf("%w: invalid %s: ids and tokens are printable ASCII of bounded length", ErrMalformedResponse, strings.Join(bad, ", "))}
}

// cleanText makes s storable text: valid UTF-8 (invalid bytes dropped),
// without NUL and other control characters (C0, DEL, C1; tabs and newlines
// too), cut to maxRunes characters. Emoji and any other Unicode stay.
func cleanText(s string, maxRunes int) string {
	if cleanAlready(s, maxRunes) {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s) && n < maxRunes; {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size <= 1 || unicode.IsControl(r) {
			continue
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func cleanAlready(s string, maxRunes int) bool {
	n := 0
	for _, r := range s { // an invalid byte comes as RuneError
		if r == utf8.RuneError || unicode.IsControl(r) {
			return false
		}
		n++
	}
	return n <= maxRunes
}

// cleanAvatarURL keeps u when it is an absolute http(s) URL of at most
// MaxAvatarURLBytes bytes of valid UTF-8 without spaces or control
// characters; anything else (javascript:, data:, relative, oversized) is
// dropped: an avatar is optional, a login must not fail for it.
func cleanAvatarURL(u string) string {
	if u == "" || len(u) > MaxAvatarURLBytes || !utf8.ValidString(u) {
		return ""
	}
	for _, r := range u {
		if r <= ' ' || unicode.IsControl(r) || unicode.IsSpace(r) {
			return ""
		}
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil {
		return ""
	}
	if s := strings.ToLower(p.Scheme); s != "http" && s != "https" {
		return ""
	}
	return u
}

// cleanProfile makes info's profile storable on any database (see the
// bounds above). Ids are checked, not cleaned: see checkToken.
func cleanProfile(info *UserInfo) {
	info.Nickname = cleanText(info.Nickname, MaxNicknameRunes)
	info.HeadImgURL = cleanAvatarURL(info.HeadImgURL)
	info.Province = cleanText(info.Province, MaxPlaceRunes)
	info.City = cleanText(info.City, MaxPlaceRunes)
	info.Country = cleanText(info.Country, MaxPlaceRunes)
	if info.Sex < 0 || info.Sex > 2 {
		info.Sex = 0 // 1 male, 2 female, 0 unknown
	}
	for i, p := range info.Privilege {
		info.Privilege[i] = cleanText(p, MaxPlaceRunes)
	}
}
