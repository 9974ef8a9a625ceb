// extract prints the named top-level functions of a Go source file, unchanged (go/printer of the parsed
// declarations), as the body of package main with the imports they use. It lets the gonka conformance
// harness run Gonka's own customSimilarity from a pinned checkout without the rest of its package (whose
// dependencies cannot be downloaded here) and without copying Gonka's code into difr.
//
//	go run extract.go SOURCE.go.src IMPORT1,IMPORT2,... FUNC1 FUNC2 ...
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: extract SOURCE.go IMPORTS FUNC...")
		os.Exit(2)
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, os.Args[1], nil, parser.ParseComments)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	want := map[string]bool{}
	for _, name := range os.Args[3:] {
		want[name] = true
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "// Code extracted by tools/conformance/gonka/extract.go from %s. DO NOT COMMIT.\n\npackage main\n\nimport (\n", os.Args[1])
	for _, imp := range strings.Split(os.Args[2], ",") {
		fmt.Fprintf(&out, "\t%q\n", imp)
	}
	out.WriteString(")\n")
	found := 0
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || !want[fn.Name.Name] {
			continue
		}
		out.WriteString("\n")
		if err := printer.Fprint(&out, fset, fn); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out.WriteString("\n")
		found++
	}
	if found != len(want) {
		fmt.Fprintf(os.Stderr, "extract: found %d of the %d functions %v in %s\n", found, len(want), os.Args[3:], os.Args[1])
		os.Exit(1)
	}
	os.Stdout.Write(out.Bytes())
}
