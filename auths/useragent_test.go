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

func TestSummarizeUserAgent(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN":      "微信 · iPhone",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36":                                                                  "Chrome · Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0":                                                    "Edge · Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15":                                                               "Safari · macOS",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 wxwork/4.1.38 MicroMessenger/7.0.1":                             "企业微信 · Android",
		"Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat": "微信电脑版 · Windows",
		"curl/8.5.0": "浏览器",
		"":           "未知浏览器",
	} {
		if got := SummarizeUserAgent(ua); got != want {
			t.Errorf("SummarizeUserAgent(%q) = %q, want %q", ua, got, want)
		}
	}
}
