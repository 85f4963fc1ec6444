// Package web holds the JitWx browser SDK and the QR codes the server shows
// to desktop visitors so they can open a page in WeChat.
//
// The SDK (sdk.js, an ES module, and its TypeScript declarations sdk.d.ts) is
// compiled into the binary so the server can serve it at /jit/sdk.js and
// /jit/sdk.d.ts without any files beside it.
package web

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"

	qrcode "github.com/skip2/go-qrcode"
)

//go:embed sdk.js sdk.d.ts
var assets embed.FS

// Assets returns the SDK files, sdk.js and sdk.d.ts, at the root of a
// read-only file system.
func Assets() fs.FS { return assets }

const (
	// MaxQRCodeText is the longest text, in bytes, QRCodePNG accepts. Longer
	// URLs still fit a QR code in theory, but the modules get too dense for a
	// phone to scan from a screen, so they are refused instead.
	MaxQRCodeText = 1000

	// MaxQRCodeSize is the largest image side QRCodePNG draws, in pixels. It
	// bounds the memory a request can make the server spend.
	MaxQRCodeSize = 4096
)

// QRCodePNG returns a PNG image of a QR code holding text, size×size pixels,
// with medium (15%) error recovery and the standard quiet zone around it.
// When size is too small for one pixel per module the image is drawn larger,
// at exactly one pixel per module.
//
// It fails when text is empty or longer than MaxQRCodeText bytes, or when
// size is not in 1..MaxQRCodeSize.
func QRCodePNG(text string, size int) ([]byte, error) {
	switch {
	case text == "":
		return nil, errors.New("web: QR code text is empty")
	case len(text) > MaxQRCodeText:
		return nil, fmt.Errorf("web: QR code text is %d bytes, more than %d", len(text), MaxQRCodeText)
	case size < 1 || size > MaxQRCodeSize:
		return nil, fmt.Errorf("web: QR code size %d is not in 1..%d", size, MaxQRCodeSize)
	}
	png, err := qrcode.Encode(text, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("web: QR code: %w", err)
	}
	return png, nil
}
