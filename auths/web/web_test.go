package web

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestAssets(t *testing.T) {
	for _, name := range []string{"sdk.js", "sdk.d.ts"} {
		b, err := fs.ReadFile(Assets(), name)
		if err != nil {
			t.Fatalf("Assets() has no %s: %v", name, err)
		}
		if !bytes.Contains(b, []byte("createApp")) {
			t.Errorf("%s does not mention createApp; wrong file embedded?", name)
		}
	}
	entries, err := fs.ReadDir(Assets(), ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("Assets() root has %d entries, want only sdk.js and sdk.d.ts", len(entries))
	}
}

// TestTypesDeclareTheMethods keeps sdk.d.ts in step with sdk.js: every
// method the SDK's objects have is declared, with a doc comment.
func TestTypesDeclareTheMethods(t *testing.T) {
	js, err := fs.ReadFile(Assets(), "sdk.js")
	if err != nil {
		t.Fatal(err)
	}
	dts, err := fs.ReadFile(Assets(), "sdk.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	methods := []string{
		"getElement", "session", "sessions", "endSession", "logout", "elements", // App
		"loginUrl", "login", "unbind", "qrLogin", "isWechatBrowser", "browserKind", // LoginTypeElement
		"cancel", // QrLogin
	}
	for _, m := range methods {
		if !bytes.Contains(js, []byte(m)) {
			t.Errorf("sdk.js has no %s", m)
		}
		decl := []byte("  " + m + "(")
		if !bytes.Contains(dts, decl) && !bytes.Contains(dts, []byte("  "+m+"<")) {
			t.Errorf("sdk.d.ts declares no method %s", m)
			continue
		}
		// The line before the first declaration ends a doc comment.
		i := bytes.Index(dts, decl)
		if i < 0 {
			i = bytes.Index(dts, []byte("  "+m+"<"))
		}
		before := strings.TrimRight(string(dts[:i]), " \n")
		if !strings.HasSuffix(before, "*/") {
			t.Errorf("sdk.d.ts: %s has no doc comment", m)
		}
	}
	for _, typ := range []string{"interface SessionUser", "interface SessionInfo", "interface Identity", "interface LoginOptions", "interface LogoutOptions",
		"interface QrLoginOptions", "interface QrLoginState", "interface QrLogin ", "type QrLoginStatus"} {
		if !bytes.Contains(dts, []byte(typ)) {
			t.Errorf("sdk.d.ts has no %s", typ)
		}
	}
}

func decodeQR(t *testing.T, b []byte) image.Image {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("not a PNG: % x", b[:min(len(b), 8)])
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	return img
}

// darkShare returns the fraction of dark pixels.
func darkShare(img image.Image) float64 {
	r := img.Bounds()
	dark := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if l, _, _, _ := img.At(x, y).RGBA(); l < 0x8000 {
				dark++
			}
		}
	}
	return float64(dark) / float64(r.Dx()*r.Dy())
}

func TestQRCodePNG(t *testing.T) {
	const url = "https://example.com/auths/loginTypes/DemoWechatLogin/login?redirectUrl=%2F%E5%95%86%E5%93%81"
	for _, size := range []int{128, 256, 512} {
		b, err := QRCodePNG(url, size)
		if err != nil {
			t.Fatalf("QRCodePNG(%d): %v", size, err)
		}
		img := decodeQR(t, b)
		if got := img.Bounds(); got.Dx() != size || got.Dy() != size {
			t.Errorf("size %d: image is %dx%d", size, got.Dx(), got.Dy())
		}
		// A real symbol is roughly half dark modules plus a light quiet zone.
		if s := darkShare(img); s < 0.2 || s > 0.6 {
			t.Errorf("size %d: %.0f%% dark pixels, not a plausible QR code", size, s*100)
		}
		// The quiet zone: corners are light, so a scanner can find the symbol.
		if l, _, _, _ := img.At(0, 0).RGBA(); l < 0x8000 {
			t.Errorf("size %d: top-left pixel is dark; no quiet zone", size)
		}
	}

	a, _ := QRCodePNG("https://example.com/a", 256)
	b, _ := QRCodePNG("https://example.com/b", 256)
	if bytes.Equal(a, b) {
		t.Error("different texts gave the same image")
	}
}

func TestQRCodePNGSmallSizeGrows(t *testing.T) {
	b, err := QRCodePNG("https://example.com/", 1)
	if err != nil {
		t.Fatal(err)
	}
	// Version 1 is 21 modules plus a 4-module quiet zone on each side.
	if got := decodeQR(t, b).Bounds().Dx(); got < 29 {
		t.Errorf("image is %d px wide, want at least one pixel per module (29)", got)
	}
}

func TestQRCodePNGErrors(t *testing.T) {
	cases := []struct {
		name string
		text string
		size int
	}{
		{"empty text", "", 256},
		{"text too long", strings.Repeat("a", MaxQRCodeText+1), 256},
		{"zero size", "x", 0},
		{"negative size", "x", -4},
		{"huge size", "x", MaxQRCodeSize + 1},
	}
	for _, c := range cases {
		if b, err := QRCodePNG(c.text, c.size); err == nil {
			t.Errorf("%s: got %d bytes, want an error", c.name, len(b))
		}
	}
	if _, err := QRCodePNG(strings.Repeat("a", MaxQRCodeText), 256); err != nil {
		t.Errorf("text of exactly MaxQRCodeText bytes: %v", err)
	}
}

// TestSDK runs the JavaScript tests so that go test ./... covers sdk.js too.
func TestSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH, so the JavaScript SDK tests (sdk.test.mjs) did not run; install Node.js 20+ to run them")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// go test runs in the package directory, where sdk.test.mjs lives.
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "sdk.test.mjs")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test sdk.test.mjs: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}
