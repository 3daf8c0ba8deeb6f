"""The staff web application: login, roles and sessions, the page shell, the agent console, the supervisor page,
the ticket API and the FAQ editor. It builds on the front door's services and on the domain packages."""
