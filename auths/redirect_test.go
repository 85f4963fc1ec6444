package auths

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeRedirect(t *testing.T) {
	base := &url.URL{Scheme: "https", Host: "h5.example.com"}
	ok := map[string]string{
		"":                              "/",
		"/after?x=1":                    "/after?x=1",
		"https://h5.example.com/p#frag": "https://h5.example.com/p#frag",
		"https://pay.example.com/done":  "https://pay.example.com/done",
		"https://H5.EXAMPLE.COM/x?y=中文": "https://H5.EXAMPLE.COM/x?y=中文",
	}
	for in, want := range ok {
		got, err := safeRedirect(in, base, "h5.example.com", []string{"pay.example.com"})
		if err != nil || got != want {
			t.Errorf("safeRedirect(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"https://evil.com", "//evil.com", "/\\evil.com", "\\\\evil.com", "http:evil.com",
		"javascript:alert(1)", "https://user@h5.example.com/", "https://h5.example.com.evil.com/",
		"/a\nb", "/\t/evil.com", "relative/path", "ftp://h5.example.com/", "data:text/html,x",
		"https://evil.com\\@h5.example.com", strings.Repeat("/a", 2000),
		"/\xff", // not UTF-8: PostgreSQL would refuse to store it
		"https://h5.example.com/" + strings.Repeat("é", 900), // grows past the column when re-encoded
		"https://h5.example.com/" + strings.Repeat(" ", 1500),
		"http://h5.example.com/x",     // an https site never sends a browser back to http
		"http://pay.example.com/done", // not even to an allowed host
	}
	for _, in := range bad {
		if got, err := safeRedirect(in, base, "h5.example.com", []string{"pay.example.com"}); err == nil {
			t.Errorf("safeRedirect(%q) = %q, want an error", in, got)
		}
	}
}
