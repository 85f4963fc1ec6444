package auths

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// The samples are the shared digest's real-world User-Agents, with the
// class each must get.
func TestBrowserKindSamples(t *testing.T) {
	f, err := os.Open("web/testdata/wechat-user-agents.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		want, ua, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad sample line %q", line)
		}
		n++
		if got := BrowserKind(ua); got != want {
			t.Errorf("BrowserKind(%q) = %q, want %q", ua, got, want)
		}
		wantWechat := want != "wecom" && want != "other"
		if got := IsWechatBrowser(strings.ToUpper(ua)); got != wantWechat {
			t.Errorf("IsWechatBrowser(upper(%q)) = %v, want %v", ua, got, wantWechat)
		}
	}
	if n < 10 {
		t.Fatalf("only %d samples read", n)
	}
}
