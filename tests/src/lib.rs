//! Integration tests live in `tests/tests/`. The library holds what they
//! share with the long exploratory run: the whole-system simulator
//! ([`sim`]).

pub mod sim;

/// The passphrase every test laptop's store key is sealed with: given to
/// `crm` as `CRM_PASSPHRASE`, and to the library by [`unlock`].
pub const PASSPHRASE: &str = "测试笔记本的本机数据密码";

/// Makes the laptop store in `dir` openable in this process: opens its key
/// with [`PASSPHRASE`], or makes one for a store not created yet.
pub fn unlock(dir: &std::path::Path) {
    use crm_client::key;
    let done = match key::exists(dir) {
        true => key::open(dir, PASSPHRASE),
        false => key::create(dir, PASSPHRASE),
    };
    done.expect("the test passphrase opens the laptop's key");
}
