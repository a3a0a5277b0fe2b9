package reports

import (
	_ "embed" // house.css
	"fmt"
	"html/template"
	"io"
)

//go:embed house.css
var houseCSS string

// HouseCSS is the one stylesheet of every rtclab HTML page: the run
// report, the multi-run index, the matrix, diagnose and compare pages.
func HouseCSS() template.CSS { return template.CSS(houseCSS) } //nolint:gosec // our own file

// Page is a house-style HTML page: the verdict first (a word on a
// coloured band with a heading and a one-line summary), then Body, then a
// footer. Every HTML output other than the run report (which has its own
// template on the same stylesheet) is written through it.
type Page struct {
	// Title is the browser's title; Word the verdict ("PASS", "WORSE");
	// Class its colour: "pass", "fail", "warn" or "unknown".
	Title, Word, Class string
	// Heading and Summary sit beside the word.
	Heading, Summary string
	// Body is the page's content, already escaped by its own template.
	Body template.HTML
	// Footer names the tool and the run.
	Footer string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
{{.CSS}}
</style>
</head>
<body>
<main>
<header class="verdict {{.Class}}">
  <div class="word">{{.Word}}</div>
  <div>
    <h1>{{.Heading}}</h1>
    <p>{{.Summary}}</p>
  </div>
</header>
{{.Body}}
<footer>{{.Footer}}</footer>
</main>
</body>
</html>
`))

// WritePage writes p as one self-contained page.
func WritePage(w io.Writer, p Page) error {
	v := struct {
		Page
		CSS template.CSS
	}{p, HouseCSS()}
	if err := pageTmpl.Execute(w, v); err != nil {
		return fmt.Errorf("write page %q: %w", p.Title, err)
	}
	return nil
}
