//! Customers set aside by sync: one that cannot be sent or stored right now
//! never holds up the others. Each carries what is to be done about it;
//! `crm aside` lists them and `crm aside retry` asks for the way out.

/// What is to be done about a customer set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Its local changes clash with the server's (this store went back in
    /// time, or was copied): the next sync fetches the server's whole
    /// document and records this user's changes again on top of it
    /// (`crm_shared::rebase`). Not pushed meanwhile.
    Rebase,
    /// What the server sent for it could not be stored: the next sync asks
    /// for the whole document again. Still pushed.
    Refetch,
    /// The server refused its changes, or the whole document could not be
    /// stored either: not pushed until the salesperson runs
    /// `crm aside retry`.
    Held,
    /// Its local changes clash with the server's copy, which this user may
    /// no longer see, and this laptop holds nothing the server
    /// acknowledged to record them again on: the next sync sends the whole
    /// document for the server to record this user's changes again on its
    /// copy, and the laptop then lets the customer go.
    HandOver,
}

impl Kind {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Rebase => "rebase",
            Kind::Refetch => "refetch",
            Kind::Held => "held",
            Kind::HandOver => "hand_over",
        }
    }

    /// From the stored code; an unknown code is held, the safe reading.
    pub fn from_code(code: &str) -> Kind {
        match code {
            "rebase" => Kind::Rebase,
            "refetch" => Kind::Refetch,
            "hand_over" => Kind::HandOver,
            _ => Kind::Held,
        }
    }

    /// What happens next, in Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Rebase => "下次同步时取服务器的版本,重新记录本机的修改",
            Kind::Refetch => "下次同步时重新接收",
            Kind::Held => "暂不发送;处理后运行 crm aside retry",
            Kind::HandOver => "下次同步时交服务器并入本机的修改,之后本机不再保留该客户",
        }
    }

    /// Whether the next sync asks the server for the whole document.
    pub fn refetches(self) -> bool {
        matches!(self, Kind::Rebase | Kind::Refetch)
    }
}

/// One customer set aside.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Aside {
    /// Customer id.
    pub id: String,
    /// Customer name, when this laptop holds the card.
    pub name: Option<String>,
    /// What is to be done, as its code.
    pub kind: &'static str,
    /// What is to be done, in Chinese.
    pub next_step: &'static str,
    /// Why, in Chinese.
    pub message: String,
    /// When it was set aside (ms).
    pub at: i64,
}
