//! The client library's one error type. Messages are Chinese and complete:
//! the CLI prints them as they are, on one line.

use thiserror::Error;

/// Everything the laptop store and its commands can fail with.
#[derive(Debug, Error)]
pub enum ClientError {
    /// No profile yet in this data directory.
    #[error("本地资料库尚未初始化,请先运行 crm init --user <登录名>")]
    NotInitialised,
    /// `init` for a different user on an existing store.
    #[error("本地资料库已属于用户 {0},不能再初始化为其他用户")]
    AlreadyInitialised(String),
    /// The data directory is a file.
    #[error("CRM_HOME 或 --data-dir 指向 {}:那是{},不是目录;请指向 crm 资料库所在的目录", .path.display(), found_text(.what, .path))]
    NotADirectory {
        /// What was given.
        path: std::path::PathBuf,
        /// What it is.
        what: crate::db::Found,
    },
    /// The store file holds something other than a crm store.
    #[error("{} 是{},不是 crm 资料库,未做任何改动;请检查 CRM_HOME 或 --data-dir", .path.display(), found_text(.what, .path))]
    NotAStore {
        /// The file.
        path: std::path::PathBuf,
        /// What it is.
        what: crate::db::Found,
    },
    /// No customer matches.
    #[error("找不到客户“{0}”(可用 crm search 按名称、联系人、电话或税号查找)")]
    NotFound(String),
    /// Several customers match a prefix or a part of their name.
    #[error("“{key}”对应多位客户:{candidates};请输入完整名称或列表中的编号")]
    Ambiguous {
        /// What was typed.
        key: String,
        /// The matching customers, for display.
        candidates: String,
    },
    /// `crm aside retry` for a customer that is not set aside.
    #[error("客户“{0}”没有被搁置,无需重试")]
    NotAside(String),
    /// A new customer with an id already taken.
    #[error("客户编号 {0} 已存在")]
    Exists(String),
    /// A new customer that looks like an existing one.
    #[error("可能与已有客户重复:{0};确认不是同一客户请加 --allow-duplicate")]
    Duplicate(String),
    /// A bad line in an import file (nothing was imported).
    #[error("第 {line} 行:{source}(未导入任何数据)")]
    ImportLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        source: crm_shared::Error,
    },
    /// The laptop has not synced for longer than head office allows.
    #[error("本机已 {days_since} 天未与服务器同步,超过公司规定的 {limit} 天,客户资料已锁定;联网后同步一次(crm sync,或应用中的“同步”)即可解锁,资料都在,没有丢失")]
    OfflineLocked {
        /// Whole days since the last sync.
        days_since: i64,
        /// The days head office allows.
        limit: u32,
    },
    /// The passphrase does not open this laptop's key; nothing changed.
    #[error(
        "本机数据密码不对,资料未打开,也没有任何改动;请重新输入(或检查环境变量 CRM_PASSPHRASE)"
    )]
    WrongPassphrase,
    /// The store is encrypted and no passphrase was given.
    #[error("本机资料已加密,需要本机数据密码:在终端运行时会提示输入,脚本中请设置环境变量 CRM_PASSPHRASE")]
    NeedPassphrase,
    /// A new store is to be encrypted and no passphrase can be asked for
    /// (no terminal, no keychain, `CRM_PASSPHRASE` not set); nothing made.
    #[error("本机资料要加密保存,需要设置本机数据密码(至少 8 个字符),未做任何改动:请在终端中运行(会提示输入两次),脚本中请设置环境变量 CRM_PASSPHRASE")]
    NeedNewPassphrase,
    /// The keychain holds no key that opens this store (another system
    /// account, the entry deleted); nothing changed.
    #[error("系统钥匙串中没有此数据目录({})的密钥,本机资料在这个系统账户下无法打开,未做任何改动;可换一个数据目录重新登录,从服务器取回已同步的客户资料", .0.display())]
    KeychainMissing(std::path::PathBuf),
    /// The keychain that holds this store's key cannot be reached;
    /// nothing changed.
    #[error("本机资料的密钥在系统钥匙串中,但{0},资料未打开,也没有任何改动;请在已登录的桌面上解锁钥匙串后重试")]
    KeychainUnreachable(String),
    /// The key file or the key itself is unusable.
    #[error("{0}")]
    Key(String),
    /// The server revoked this device; its customer data was deleted.
    #[error("此设备已被管理员停用,已删除本机 {0} 位客户的数据和本机密钥;请联系管理员")]
    DeviceWiped(usize),
    /// A domain rule was broken.
    #[error(transparent)]
    Domain(#[from] crm_shared::Error),
    /// The SQLite store failed.
    #[error("本地数据库错误:{0}")]
    Db(#[from] rusqlite::Error),
    /// The store's schema could not be brought up to date (e.g. it was
    /// written by a newer version of `crm`).
    #[error("本地数据库结构升级失败:{0}")]
    Migration(String),
    /// A named file could not be opened or read.
    #[error("无法读取文件 {path}:{source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading or writing a file failed.
    #[error("读写文件失败:{0}")]
    Io(#[from] std::io::Error),
    /// `login` as someone other than the user this store belongs to.
    #[error(
        "本机资料库属于用户 {owner},不能以 {login} 登录;每位用户请使用自己的资料库目录(--data-dir)"
    )]
    OtherUser {
        /// The store's profile user.
        owner: String,
        /// Who tried to log in.
        login: String,
    },
    /// A command needs the server but this laptop has not logged in.
    #[error("尚未登录服务器,请先运行 crm login --server https://主机:端口 --user <登录名> --fingerprint <指纹>")]
    NotLoggedIn,
    /// `login` without a password on stdin, in the environment or typed.
    #[error("没有提供密码:请用 --password-stdin(从标准输入读一行)、环境变量 CRM_PASSWORD,或在终端中输入")]
    NoPassword,
    /// A new password is needed but none was given.
    #[error("没有提供新密码:用 --password-stdin 时在第二行给出,或设环境变量 CRM_NEW_PASSWORD,或在终端中输入")]
    NoNewPassword,
    /// Talking to the server failed.
    #[error(transparent)]
    Net(#[from] crate::net::NetError),
}

/// What a file found where a store or its directory should be is, for people.
fn found_text(found: &crate::db::Found, path: &std::path::Path) -> String {
    use crate::db::Found;
    match found {
        Found::New => "一个空文件".into(),
        Found::Store | Found::Unfinished => format!(
            "crm 资料库文件本身,请指向它所在的目录 {}",
            path.parent().unwrap_or(path).display()
        ),
        Found::ServerDb => "服务器(crm-server)的数据库".into(),
        Found::OtherSqlite => "其他程序的 SQLite 数据库".into(),
        Found::NotSqlite => "一个普通文件".into(),
    }
}

/// Result alias for the client library.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
