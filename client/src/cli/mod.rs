//! The `crm` command line: one module per command group, each holding its
//! arguments and what it does. Human output goes through [`crate::render`];
//! every read command also has `--json` for scripts.

mod activities;
mod common;
mod complaints;
mod conflicts;
mod credit;
mod customers;
mod edits;
mod flags;
mod laptop;
mod login;
mod reports;
mod reviews;
mod sales;
mod sync;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use common::JsonFlag;
pub use customers::ListOrder;

use crate::error::Result;
use crate::store::Store;

/// 客户档案 — 业务员的离线客户档案。
#[derive(Debug, Parser)]
#[command(name = "crm", version, about = "客户档案(离线可用)— 业务员命令行")]
pub struct Cli {
    /// 本机资料库所在目录(默认 ~/.crm;也可用环境变量 CRM_HOME 指定)
    #[arg(long, global = true, env = "CRM_HOME", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Without a command (what a double-click runs) the app opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Every `crm` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// 打开客户档案应用(在浏览器中使用;不带命令运行 crm 也是打开它)
    Ui(UiArgs),
    /// 初始化本机资料库(第一步,之后再 crm login)
    Init(laptop::InitArgs),
    /// 本机状态:用户、资料库、服务器、上次同步、待同步的修改
    Status(JsonFlag),
    /// 新建客户
    Add(customers::AddArgs),
    /// 修改客户档案,须说明原因
    #[command(after_help = edits::editable_fields())]
    Edit(edits::EditArgs),
    /// 查看客户档案
    Show(customers::ShowArgs),
    /// 客户列表
    List(customers::ListArgs),
    /// 搜索客户:名称、联系人、电话、税号
    Search(customers::SearchArgs),
    /// 联系人:新增、修改
    #[command(subcommand)]
    Contact(edits::ContactCommand),
    /// 记录拜访/电话等活动,自动排下次跟进
    Visit(activities::VisitArgs),
    /// 今日及逾期跟进
    Followups(customers::FollowupsArgs),
    /// 修改历史:时间、人、字段、原因
    History(customers::HistoryArgs),
    /// 未解决的冲突(两人分别改成了不同的值)
    Conflicts(conflicts::ConflictsArgs),
    /// 解决冲突:选定字段的值并说明原因
    Resolve(conflicts::ResolveArgs),
    /// 从 JSON Lines 文件导入客户
    Import(customers::ImportArgs),
    /// 从客户档案重建列表和搜索索引
    RebuildIndex,
    /// 登录总部服务器(并记住它的证书)
    Login(login::LoginArgs),
    /// 修改密码(管理员重设密码后,也用它设置自己的新密码)
    Password(login::PasswordArgs),
    /// 退出登录:删除本机保存的服务器令牌(客户数据保留)
    Logout,
    /// 与服务器同步:发送本机的修改,接收总部和他人的修改
    Sync(JsonFlag),
    /// 有待同步修改的客户
    Pending(JsonFlag),
    /// 被搁置的客户:同步时暂时无法发送或保存的客户及原因
    Aside(sync::AsideArgs),
    /// 今日工作:到期及逾期跟进(附电话)、明日计划、预警数
    Today(reports::TodayArgs),
    /// 销售记录(客户评级的依据)
    #[command(subcommand)]
    Sale(sales::SaleCommand),
    /// 信用额度变更申请
    #[command(subcommand)]
    Credit(credit::CreditCommand),
    /// 客户投诉
    #[command(subcommand)]
    Complaint(complaints::ComplaintCommand),
    /// 定期审查
    #[command(subcommand)]
    Review(reviews::ReviewCommand),
    /// 客户重大变化
    #[command(subcommand)]
    Flag(flags::FlagCommand),
    /// 报表:销售活动日报表
    #[command(subcommand)]
    Report(reports::ReportCommand),
    /// 本机客户的预警
    Warnings(JsonFlag),
    /// 客户等级管理汇总表预览
    Grades(JsonFlag),
}

/// `crm ui`
#[derive(Debug, clap::Args)]
pub struct UiArgs {
    /// 只显示地址,不自动打开浏览器
    #[arg(long)]
    pub no_open: bool,
}

/// Where the store lives: `--data-dir`, else `CRM_HOME`, else `.crm` in
/// the home directory (`HOME`; on Windows, where a double-click starts
/// the app with no `HOME`, `USERPROFILE`).
fn data_dir(cli: &Cli) -> PathBuf {
    cli.data_dir.clone().unwrap_or_else(|| {
        std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".crm")
    })
}

/// Whether `command` shows or changes customer data, and so waits while
/// the offline lock holds. Signing in, syncing (which lifts the lock),
/// the laptop's status and the app itself (which shows the lock) do not.
fn shows_customers(command: &Command) -> bool {
    !matches!(
        command,
        Command::Ui(_)
            | Command::Init(_)
            | Command::Status(_)
            | Command::Login(_)
            | Command::Password(_)
            | Command::Logout
            | Command::Sync(_)
            | Command::RebuildIndex
    )
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    let dir = data_dir(&cli);
    let dir = dir.as_path();
    let Some(command) = cli.command else {
        return crate::app::run(dir, true);
    };
    if shows_customers(&command) && Store::file(dir).exists() {
        crate::lock::check(&Store::open(dir)?)?;
    }
    match command {
        Command::Ui(a) => crate::app::run(dir, !a.no_open),
        Command::Init(a) => laptop::init(dir, a),
        Command::Status(j) => laptop::status(dir, j),
        Command::RebuildIndex => laptop::rebuild_index(dir),
        Command::Add(a) => customers::add(dir, a),
        Command::Show(a) => customers::show(dir, a),
        Command::List(a) => customers::list(dir, a),
        Command::Search(a) => customers::search(dir, a),
        Command::Followups(a) => customers::followups(dir, a),
        Command::History(a) => customers::history(dir, a),
        Command::Import(a) => customers::import(dir, a),
        Command::Edit(a) => edits::edit(dir, a),
        Command::Contact(c) => edits::contact(dir, c),
        Command::Visit(a) => activities::visit(dir, a),
        Command::Conflicts(a) => conflicts::list(dir, a),
        Command::Resolve(a) => conflicts::resolve(dir, a),
        Command::Login(a) => login::login(dir, a),
        Command::Password(a) => login::password(dir, a),
        Command::Logout => login::logout(dir),
        Command::Sync(j) => sync::sync(dir, j),
        Command::Pending(j) => sync::pending(dir, j),
        Command::Aside(a) => sync::aside(dir, a),
        Command::Today(a) => reports::today(&Store::open(dir)?, a),
        Command::Report(c) => reports::report(&mut Store::open(dir)?, c),
        Command::Warnings(j) => reports::warnings(&mut Store::open(dir)?, j),
        Command::Grades(j) => reports::grades(&mut Store::open(dir)?, j),
        Command::Sale(c) => sales::sale(&mut Store::open(dir)?, c),
        Command::Credit(c) => credit::credit(&mut Store::open(dir)?, c),
        Command::Complaint(c) => complaints::complaint(&mut Store::open(dir)?, c),
        Command::Review(c) => reviews::review(&mut Store::open(dir)?, c),
        Command::Flag(c) => flags::flag(&mut Store::open(dir)?, c),
    }
}
