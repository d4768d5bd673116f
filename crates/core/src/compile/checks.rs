//! What the syntax tree says about a script before it runs: constructs that
//! are refused (module syntax, `import()`, `require(...)`) and the tool
//! paths it references (`tools.x.y` member chains).

use oxc::ast::ast::{
    CallExpression, Expression, ImportExpression, ImportMeta, MemberExpression, ModuleDeclaration,
    TSImportEqualsDeclaration, TSModuleBlock,
};
use oxc::ast_visit::{Visit, walk};
use oxc::span::{GetSpan, Span};

#[derive(Debug, Default)]
pub struct Findings {
    /// What was refused and where (byte offset into the source).
    pub banned: Vec<(String, u32)>,
    pub tools: Vec<String>,
    /// Inside a TypeScript `namespace`, where `export` only names members.
    namespaces: u32,
}

impl Findings {
    fn ban(&mut self, what: &str, span: Span) {
        self.banned.push((what.to_owned(), span.start));
    }
}

impl<'a> Visit<'a> for Findings {
    fn visit_ts_module_block(&mut self, it: &TSModuleBlock<'a>) {
        self.namespaces += 1;
        walk::walk_ts_module_block(self, it);
        self.namespaces -= 1;
    }

    fn visit_module_declaration(&mut self, it: &ModuleDeclaration<'a>) {
        let member_export = matches!(
            it,
            ModuleDeclaration::ExportDeclaration(_) | ModuleDeclaration::ExportNamedDeclaration(_)
        );
        if self.namespaces > 0 && member_export {
            walk::walk_module_declaration(self, it);
            return;
        }
        let what = match it {
            ModuleDeclaration::ImportDeclaration(_) => "a static `import` declaration",
            ModuleDeclaration::TSExportAssignment(_) => "an `export =` assignment",
            _ => "an `export` declaration",
        };
        self.ban(what, it.span());
        walk::walk_module_declaration(self, it);
    }

    fn visit_ts_import_equals_declaration(&mut self, it: &TSImportEqualsDeclaration<'a>) {
        self.ban("an `import x = require(...)` declaration", it.span);
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        self.ban("a dynamic `import()`", it.span);
        walk::walk_import_expression(self, it);
    }

    fn visit_import_meta(&mut self, it: &ImportMeta) {
        self.ban("`import.meta`", it.span);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        // `(require)('fs')`, `(require as any)('fs')`, `require!('fs')`.
        if let Expression::Identifier(id) = it.callee.get_inner_expression()
            && id.name == "require"
        {
            self.ban("a call to `require(...)`", it.span);
        }
        walk::walk_call_expression(self, it);
    }

    /// A member chain is handled whole, once, from its outermost member:
    /// handling each inner member again would make a long chain
    /// (`a.b.b.b...`) quadratic.
    fn visit_member_expression(&mut self, it: &MemberExpression<'a>) {
        let mut chain = vec![it];
        while let Some(inner) = chain[chain.len() - 1].object().as_member_expression() {
            chain.push(inner);
        }
        let root = chain[chain.len() - 1].object();
        if matches!(root, Expression::Identifier(id) if id.name == "tools") {
            // `tools.a.b` is a reference to the path `a.b`; a computed key
            // that is not a string literal ends the path there.
            let mut names: Vec<&str> = Vec::new();
            for member in chain.iter().rev() {
                match member {
                    MemberExpression::StaticMemberExpression(m) => names.push(&m.property.name),
                    MemberExpression::ComputedMemberExpression(m) => match &m.expression {
                        Expression::StringLiteral(s) => names.push(&s.value),
                        _ => break,
                    },
                    MemberExpression::PrivateFieldExpression(_) => break,
                }
            }
            let path = names.join(".");
            if !path.is_empty() && !self.tools.contains(&path) {
                self.tools.push(path);
            }
        } else {
            self.visit_expression(root);
        }
        for member in &chain {
            if let MemberExpression::ComputedMemberExpression(m) = member {
                self.visit_expression(&m.expression);
            }
        }
    }
}
