// Command mcp-peer is a real MCP server built with one of the two Go SDKs users
// run, for tests to probe and to put behind proxies: the official Go SDK
// (github.com/modelcontextprotocol/go-sdk) or mcp-go (github.com/mark3labs/mcp-go),
// serving either the legacy HTTP+SSE transport (protocol 2024-11-05) or
// Streamable HTTP.
//
// It offers two tools: `echo` answers its `text` argument, and `whoami`
// answers the --replica name, so a test talking through a load balancer can
// tell which replica served a call.
//
// Once listening it prints one line on stdout, then nothing more:
//
//	mcp-peer ready {"sdk":"official","transport":"sse","url":"http://127.0.0.1:40123/sse",...}
//
// The process serves until SIGTERM or SIGINT and then closes every connection
// at once (open SSE streams included): a test that wants a graceful drain
// measures the proxy's behaviour, not ours.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	mcpgoserver "github.com/mark3labs/mcp-go/server"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	sdkOfficial = "official"
	sdkMcpGo    = "mcp-go"

	transportSSE        = "sse"
	transportStreamable = "streamable-http"
)

type options struct {
	sdk         string
	transport   string
	listen      string
	path        string
	messagePath string
	replica     string
	stateless   bool
	anyHost     bool
}

// ready is what the ready line carries after "mcp-peer ready ".
type ready struct {
	SDK       string `json:"sdk"`
	Transport string `json:"transport"`
	Replica   string `json:"replica"`
	// URL is the endpoint a client connects to: the SSE stream (GET) or the
	// Streamable HTTP endpoint.
	URL string `json:"url"`
	// MessagePath is where SSE clients POST (the endpoint event says so too);
	// empty for Streamable HTTP.
	MessagePath string `json:"messagePath,omitempty"`
}

func main() {
	var o options
	flag.StringVar(&o.sdk, "sdk", sdkOfficial, "SDK: official (github.com/modelcontextprotocol/go-sdk) or mcp-go (github.com/mark3labs/mcp-go)")
	flag.StringVar(&o.transport, "transport", transportStreamable, "transport: sse (HTTP+SSE, 2024-11-05) or streamable-http")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on; port 0 picks a free port (the ready line says which)")
	flag.StringVar(&o.path, "path", "", "endpoint path (default /mcp for streamable-http, /sse for sse)")
	flag.StringVar(&o.messagePath, "message-path", "/message", "sse with mcp-go only: where clients POST (the official SDK takes POSTs on --path)")
	flag.StringVar(&o.replica, "replica", "", "name the whoami tool answers (default: the listen address)")
	flag.BoolVar(&o.stateless, "stateless", false, "streamable-http only: no Mcp-Session-Id, every request stands alone")
	flag.BoolVar(&o.anyHost, "any-host", false, "accept any Host header on a loopback address; both SDKs refuse non-localhost Host headers there (DNS-rebinding protection), which a proxy in front on loopback sends")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-peer:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.sdk != sdkOfficial && o.sdk != sdkMcpGo {
		return fmt.Errorf("--sdk %q: want %s or %s", o.sdk, sdkOfficial, sdkMcpGo)
	}
	if o.transport != transportSSE && o.transport != transportStreamable {
		return fmt.Errorf("--transport %q: want %s or %s", o.transport, transportSSE, transportStreamable)
	}
	if o.stateless && o.transport != transportStreamable {
		return errors.New("--stateless applies to streamable-http only")
	}
	if o.path == "" {
		o.path = "/mcp"
		if o.transport == transportSSE {
			o.path = "/sse"
		}
	}
	listener, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	if o.replica == "" {
		o.replica = listener.Addr().String()
	}

	var handler http.Handler
	info := ready{SDK: o.sdk, Transport: o.transport, Replica: o.replica, URL: "http://" + listener.Addr().String() + o.path}
	switch o.sdk {
	case sdkOfficial:
		handler = officialHandler(o)
		if o.transport == transportSSE {
			info.MessagePath = o.path
		}
	case sdkMcpGo:
		handler = mcpGoHandler(o)
		if o.transport == transportSSE {
			info.MessagePath = o.messagePath
		}
	}

	server := &http.Server{Handler: handler}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()

	line, err := json.Marshal(info)
	if err != nil {
		return err
	}
	fmt.Printf("mcp-peer ready %s\n", line)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-served:
		return err
	case <-signals:
		return server.Close()
	}
}

// officialHandler serves with github.com/modelcontextprotocol/go-sdk. Its SSE
// handler takes the stream (GET) and the session's POSTs on the same path,
// telling them apart by the `sessionid` query parameter.
func officialHandler(o options) http.Handler {
	server := mcp.NewServer(&mcp.Implementation{Name: "mcp-peer", Version: "1.0.0"}, nil)
	type echoIn struct {
		Text string `json:"text" jsonschema:"the text to answer"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "echo", Description: "answers its text argument"},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
		})
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "answers the name of the replica serving the call"},
		func(_ context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: o.replica}}}, nil, nil
		})
	getServer := func(*http.Request) *mcp.Server { return server }

	mux := http.NewServeMux()
	if o.transport == transportSSE {
		mux.Handle(o.path, mcp.NewSSEHandler(getServer, &mcp.SSEOptions{DisableLocalhostProtection: o.anyHost}))
	} else {
		mux.Handle(o.path, mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{
			Stateless:                  o.stateless,
			DisableLocalhostProtection: o.anyHost,
		}))
	}
	return mux
}

// mcpGoHandler serves with github.com/mark3labs/mcp-go. Its SSE server takes
// the stream on one path and POSTs on another (`sessionId` query parameter);
// both handlers route by exact path themselves.
func mcpGoHandler(o options) http.Handler {
	server := mcpgoserver.NewMCPServer("mcp-peer", "1.0.0", mcpgoserver.WithToolCapabilities(false))
	server.AddTool(
		mcpgo.NewTool("echo", mcpgo.WithDescription("answers its text argument"),
			mcpgo.WithString("text", mcpgo.Required(), mcpgo.Description("the text to answer"))),
		func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			text, err := req.RequireString("text")
			if err != nil {
				return mcpgo.NewToolResultError(err.Error()), nil
			}
			return mcpgo.NewToolResultText(text), nil
		})
	server.AddTool(
		mcpgo.NewTool("whoami", mcpgo.WithDescription("answers the name of the replica serving the call")),
		func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			return mcpgo.NewToolResultText(o.replica), nil
		})

	if o.transport == transportSSE {
		return mcpgoserver.NewSSEServer(server,
			mcpgoserver.WithSSEEndpoint(o.path),
			mcpgoserver.WithMessageEndpoint(o.messagePath),
			mcpgoserver.WithSSEDisableLocalhostProtection(o.anyHost))
	}
	return mcpgoserver.NewStreamableHTTPServer(server,
		mcpgoserver.WithEndpointPath(o.path),
		mcpgoserver.WithStateLess(o.stateless),
		mcpgoserver.WithDisableLocalhostProtection(o.anyHost))
}
