package signaling

import (
	"context"
	"fmt"
	"net/http"

	"github.com/coder/websocket"
)

// Client is one signaling connection.
type Client struct {
	ws *websocket.Conn
	// Joined is the server's answer to the join.
	Joined Message
}

// Dial connects to url (ws://host/ws), joins room as name and waits for the
// server's "joined". httpClient may be nil (http.DefaultClient); pass one
// whose Transport dials a PipeListener to reach an in-memory server.
func Dial(ctx context.Context, url string, httpClient *http.Client, room, name string) (*Client, error) {
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: httpClient})
	if err != nil {
		return nil, fmt.Errorf("signaling dial %s: %w", url, err)
	}
	ws.SetReadLimit(MaxMessage + relayOverhead)
	c := &Client{ws: ws}
	if err := c.Send(ctx, Message{Type: TypeJoin, Room: room, Name: name}); err != nil {
		ws.CloseNow()
		return nil, err
	}
	m, err := c.Recv(ctx)
	if err != nil {
		ws.CloseNow()
		return nil, err
	}
	if m.Type != TypeJoined {
		ws.CloseNow()
		return nil, fmt.Errorf("signaling join %s/%s: %s %s", room, name, m.Type, m.Error)
	}
	c.Joined = m
	return c, nil
}

// Send writes one message.
func (c *Client) Send(ctx context.Context, m Message) error {
	if err := writeJSON(ctx, c.ws, m); err != nil {
		return fmt.Errorf("signaling send %s: %w", m.Type, err)
	}
	return nil
}

// Recv reads the next message.
func (c *Client) Recv(ctx context.Context) (Message, error) {
	var m Message
	if err := readJSON(ctx, c.ws, &m); err != nil {
		return m, fmt.Errorf("signaling recv: %w", err)
	}
	return m, nil
}

// Close leaves the room and closes the connection.
func (c *Client) Close() error {
	_ = c.Send(context.Background(), Message{Type: TypeLeave})
	return c.ws.CloseNow()
}
