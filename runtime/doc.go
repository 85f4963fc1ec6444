// Package runtime loads element folders into a live registry.
//
// Loading runs in named stages, the way Grafana loads plugins:
// discover (scan.go: walk each layer's fs.FS for element folders),
// resolve (resolve.go: kinds and Type chains), validate and build
// (build.go: merge config over the Type chain, check it against the Type's
// schema, run the element's lifecycle). One bad element is reported and
// skipped; it never stops the rest.
//
// Readers see an immutable Snapshot through one atomic pointer (snapshot.go);
// reloads (reload.go, watch.go) build the next snapshot off to the side and
// swap it in only once it is complete, keeping the last good version of any
// element whose new files are broken, as Traefik's file provider does.
package runtime
